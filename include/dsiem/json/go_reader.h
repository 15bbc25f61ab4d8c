#pragma once

#include <simdjson.h>

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// Decoding with Go encoding/json semantics on top of simdjson's DOM, shared by the event decoder
// and every config loader:
//  * object keys match field names exactly, else case-insensitively (Go's fold rules);
//  * unknown keys are ignored, a repeated key's last value wins;
//  * JSON null leaves a scalar untouched and clears a slice;
//  * any type mismatch fails the whole decode (a string for an int, 1.5 or 1e3 for an int, a
//    number for a string, an int out of range, ...);
//  * trailing non-whitespace after the document is an error.
namespace dsiem::json {

// A decode failure. what() is a Go-style message, e.g.
// "json: cannot unmarshal string into Go struct field NormalizedEvent.plugin_id of type int".
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Go's encoding/json nesting limit (maxNestingDepth).
inline constexpr size_t kGoMaxDepth = 10000;

// Parses one whole JSON document held in `text`. The returned element lives as long as `parser`
// is not reused. Throws DecodeError (empty input, syntax error, trailing garbage).
simdjson::dom::element parse(simdjson::dom::parser& parser, std::string_view text);

// Index of the field name that the JSON object key `key` selects under Go's rules (an exact
// match wins, otherwise the first case-insensitive match), or -1.
int match_field(std::string_view key, std::span<const std::string_view> names);

// match_field for one fixed list of names, by hashing instead of scanning: for the decoders that
// run for every event. The names must outlive the index.
class FieldIndex {
 public:
  explicit FieldIndex(std::span<const std::string_view> names);
  // The same answer as match_field(key, names).
  int find(std::string_view key) const;
  // The same, for the key that follows the one matched as `previous` (-1: the first key, or no
  // key matched yet). Documents of one source list their keys in one order: the name that
  // followed `previous` last time is tried first, with a single comparison.
  int find_next(std::string_view key, int previous) const;
  std::span<const std::string_view> names() const { return names_; }

 private:
  // Slot of `text` in a table: -1 when absent.
  int lookup(const std::vector<int16_t>& table, std::string_view text, bool folded) const;

  std::span<const std::string_view> names_;
  // Open-addressing tables of name indexes (-1: empty), by exact name and by ASCII-lowercased
  // name (the first name of each lowercased form).
  std::vector<int16_t> exact_;
  std::vector<int16_t> folded_;
  std::vector<std::string> lowered_;
  bool ascii_names_ = true;
  // successor_[i + 1]: the name matched after name i (after none, for i = -1) when last seen,
  // or -1. Shared by every thread: only a guess, checked before use, and written only when
  // it was wrong. Empty when names repeat (a guess could then pick the wrong duplicate).
  mutable std::vector<std::atomic<int16_t>> successor_;
};

// Calls fn(field_index, value) for every key of `object` that selects one of `names`, in
// document order (so the last duplicate wins when fn assigns). `object` being JSON null does
// nothing. Anything other than an object or null throws DecodeError naming `go_type`
// ("json: cannot unmarshal array into Go value of type <go_type>").
template <typename Fn>
void for_each_field(simdjson::dom::element object, std::span<const std::string_view> names,
                    std::string_view go_type, Fn&& fn);
// The same with the names' FieldIndex.
template <typename Fn>
void for_each_field(simdjson::dom::element object, const FieldIndex& names,
                    std::string_view go_type, Fn&& fn);

// Typed readers. `field` names the destination in error messages, as Go does: "Type.field".
// Null leaves scalars unchanged and clears vectors.
void read_string(simdjson::dom::element v, std::string& out, std::string_view field);
void read_int(simdjson::dom::element v, int64_t& out, std::string_view field);
void read_uint(simdjson::dom::element v, uint64_t& out, std::string_view field);
// As above, naming the Go destination type in messages ("int64", "uint", ...); the plain
// overloads say "int" and "uint64". The accepted range is int64 / uint64 either way.
void read_int(simdjson::dom::element v, int64_t& out, std::string_view field,
              std::string_view go_type);
void read_uint(simdjson::dom::element v, uint64_t& out, std::string_view field,
               std::string_view go_type);
void read_bool(simdjson::dom::element v, bool& out, std::string_view field);
void read_string_array(simdjson::dom::element v, std::vector<std::string>& out,
                       std::string_view field);
void read_int_array(simdjson::dom::element v, std::vector<int64_t>& out, std::string_view field);

// Name of the JSON kind of `v` as Go reports it: "string", "number", "bool", "array", "object".
std::string_view kind_name(simdjson::dom::element v);

// Go's type error: "json: cannot unmarshal <kind> into Go struct field <field> of type
// <go_type>" ("into Go value of type <go_type>" when `field` is empty).
[[noreturn]] void throw_type_error(std::string_view kind, std::string_view field,
                                   std::string_view go_type);

// A JSON array into a Go slice: null clears `out`, anything but an array throws the type error
// naming `slice_type`, and read_one(item, out[i]) fills each element. As in Go, element i is
// decoded over the existing out[i] (read_one resets it when it must start empty), and `out`
// ends with exactly the array's length.
template <typename T, typename ReadOne>
void read_array(simdjson::dom::element v, std::vector<T>& out, std::string_view field,
                std::string_view slice_type, ReadOne&& read_one);

// ---- implementation of the templates ----
template <typename T, typename ReadOne>
void read_array(simdjson::dom::element v, std::vector<T>& out, std::string_view field,
                std::string_view slice_type, ReadOne&& read_one) {
  if (v.is_null()) {
    out.clear();
    return;
  }
  simdjson::dom::array arr;
  if (v.get(arr) != simdjson::SUCCESS) throw_type_error(kind_name(v), field, slice_type);
  std::size_t i = 0;
  for (simdjson::dom::element item : arr) {
    if (i >= out.size()) out.emplace_back();
    read_one(item, out[i]);
    ++i;
  }
  out.resize(i);
}

[[noreturn]] void throw_not_object(simdjson::dom::element v, std::string_view go_type);

template <typename Fn>
void for_each_field(simdjson::dom::element object, std::span<const std::string_view> names,
                    std::string_view go_type, Fn&& fn) {
  if (object.is_null()) return;
  simdjson::dom::object obj;
  if (object.get(obj) != simdjson::SUCCESS) throw_not_object(object, go_type);
  for (auto field : obj) {
    const int idx = match_field(field.key, names);
    if (idx >= 0) fn(idx, field.value);
  }
}

template <typename Fn>
void for_each_field(simdjson::dom::element object, const FieldIndex& names,
                    std::string_view go_type, Fn&& fn) {
  if (object.is_null()) return;
  simdjson::dom::object obj;
  if (object.get(obj) != simdjson::SUCCESS) throw_not_object(object, go_type);
  int previous = -1;
  for (auto field : obj) {
    const int idx = names.find_next(field.key, previous);
    if (idx < 0) continue;
    previous = idx;
    fn(idx, field.value);
  }
}

}  // namespace dsiem::json
