#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Value parsers that reproduce what the Go CLI (pflag, viper, spf13/cast, encoding/csv) accepts,
// so that flags and DSIEM_* variables mean the same in dsiem-cpp as in the reference.
namespace dsiem::cli {

// strconv.ParseInt(s, 0, 64): optional sign, base from the prefix (0x hex, 0o or a leading 0
// octal, 0b binary, else decimal), `_` between digits. On failure returns nullopt and sets `error`
// (if given) to Go's message, e.g. `strconv.ParseInt: parsing "abc": invalid syntax`.
std::optional<int64_t> parse_go_int(std::string_view s, std::string* error = nullptr);

// strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False.
std::optional<bool> parse_go_bool(std::string_view s, std::string* error = nullptr);

// The first record of `s` read by encoding/csv with default settings, which is how pflag splits
// a string-slice flag value ("a,b" -> 2 items, `"a,b",c` -> ["a,b", "c"]). An empty `s` gives no
// items. On a CSV syntax error returns nullopt and sets `error`.
std::optional<std::vector<std::string>> parse_csv_record(std::string_view s,
                                                         std::string* error = nullptr);

// strings.Fields: `s` split on runs of whitespace (how viper turns an env string into a list).
std::vector<std::string> split_fields(std::string_view s);

}  // namespace dsiem::cli
