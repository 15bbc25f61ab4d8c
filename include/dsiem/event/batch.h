#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/event/event.h"

// Batch bodies of POST /events: a JSON array of events (Logstash `format => "json_batch"`) or
// NDJSON (`Content-Type: application/x-ndjson`, one event per line). The framing is split here;
// each element is then decoded and validated on its own, so one bad event never costs its
// neighbours.
namespace dsiem::event {

// True for the NDJSON media type (parameters and case ignored).
bool is_ndjson(std::string_view content_type);

// One event of a batch body: its text and where it was (array index or NDJSON line number).
struct BatchItem {
  std::string_view text;
  std::size_t position;
};

// The raw text of each element of a body that is a non-empty JSON array of objects, positions
// 0, 1, ... Strings and nesting are followed; the objects themselves are not checked. nullopt
// for any other body (no '[', an empty array, a non-object element, an unterminated element, a
// missing ',' or ']', bytes after the closing ']'): such a body is one event as far as POST
// /events is concerned, and gets the reference's single-event answer.
std::optional<std::vector<BatchItem>> split_event_array(std::string_view body);

// A JSON-array batch body parsed as one document, the fast path for well-formed batches: no
// framing pass and one parse instead of one per element. Decoding an element gives exactly
// what decode() gives for its text (a valid document's elements are valid on their own).
// Reusable; element views last until the next parse().
class ParsedArray {
 public:
  // Larger bodies are not parsed here (parse() returns false).
  static constexpr std::size_t kMaxBody = 2 * 1024 * 1024;

  ParsedArray();
  ~ParsedArray();
  ParsedArray(const ParsedArray&) = delete;
  ParsedArray& operator=(const ParsedArray&) = delete;

  // True when `body` is well-formed JSON (as simdjson reads it) and a non-empty array of
  // objects. Otherwise split_event_array and a decode per element decide what the body is (and
  // find the broken elements).
  bool parse(std::string_view body);
  std::size_t size() const;
  // Element i (0-based, also its position) decoded under decode()'s rules.
  bool decode(std::size_t i, Event& out, std::string* error) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The non-blank lines of an NDJSON body (a trailing CR removed), positions = 1-based line
// numbers.
std::vector<BatchItem> split_ndjson(std::string_view body);

}  // namespace dsiem::event
