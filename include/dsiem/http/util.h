#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Small text helpers shared by the router, the routes and the ops endpoints.
namespace dsiem::http {

// Decodes %XX escapes (a '+' stays a '+', as in a URL path). An invalid escape is kept
// literally, as the reference server (fasthttp) does.
std::string percent_decode(std::string_view s);

// Decodes a query-string component: %XX escapes and '+' as a space.
std::string query_decode(std::string_view s);

// Splits "a=1&b=2" into decoded (key, value) pairs, in order. A part without '=' has an empty
// value; empty parts are skipped.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

// The first value of `key` in `query`, decoded; empty when absent.
std::string query_value(std::string_view query, std::string_view key);

// Lexical path cleaning with httprouter's rules: ensures a leading '/', collapses "//",
// removes "." and resolves ".." (never above the root), and keeps a trailing slash (also the
// one implied by a final "." or ".."). "" becomes "/".
std::string clean_path(std::string_view p);

// Percent-encodes a decoded path for a Location header: keeps unreserved characters,
// sub-delims, ':', '@' and '/', encodes every other byte.
std::string escape_path(std::string_view p);

}  // namespace dsiem::http
