#pragma once

#include <cstdint>
#include <string>
#include <string_view>

// JSON output byte-compatible with Go's encoding/json (Go 1.19): the helpers every encoder of the
// project uses, so that escaping lives in one place.
namespace dsiem::json {

// Appends `s` as a quoted JSON string with Go's escaping: `"` and `\` escaped, \n \r \t as
// themselves, other bytes below 0x20 as \u00XX (lower-case hex), `<` `>` `&` as \u003c \u003e
// \u0026, U+2028 and U+2029 as \u2028 \u2029, and each invalid UTF-8 byte as \ufffd.
void append_string(std::string& out, std::string_view s);

// True when append_string writes `s` unchanged between its quotes (nothing to escape).
bool is_plain(std::string_view s);

// append_string into a new string.
std::string quote(std::string_view s);

void append_int(std::string& out, int64_t v);
void append_uint(std::string& out, uint64_t v);

// Appends `"key":` (the key is written with append_string).
void append_key(std::string& out, std::string_view key);

// Go's json.Indent(dst, compact, "", "  ") of compact JSON (what MarshalIndent writes): one
// member or element per line, two spaces per level, `": "` after keys, `{}` and `[]` kept.
std::string indent(std::string_view compact);

}  // namespace dsiem::json
