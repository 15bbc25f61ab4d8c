#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Text rules of the rule language (directives.md §3, §5), shared by load-time validation and
// run-time matching.
namespace dsiem {

// Go's utf8.DecodeRuneInString at s[i]: the code point, or -1 for an invalid or truncated
// sequence, whose length is then 1 (as Go's RuneError). The length goes to `len`.
int32_t decode_utf8(std::string_view s, std::size_t i, std::size_t& len);

// Appends code point `cp` (0..0x10FFFF) as UTF-8.
void append_utf8(std::string& out, int32_t cp);

// Go's unicode.IsSpace.
bool is_go_space(int32_t cp);

// Go's unicode.IsSpace for the code point starting at s[i]; stores its byte length in `len`.
bool is_space_at(std::string_view s, std::size_t i, std::size_t& len);

// Go's strings.TrimSpace.
std::string trim_space(std::string_view s);

// Splits a rule list on commas and white space, dropping empty items.
std::vector<std::string> split_list(std::string_view s);

// Unicode simple lower-case of UTF-8 text (invalid bytes are kept).
std::string to_lower(std::string_view s);

// Go's strconv.Quote (the %q of error messages): printable text kept, C escapes, \xHH for
// other bytes.
std::string go_quote(std::string_view s);

}  // namespace dsiem
