#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The non-blank lines of an NDJSON body (a trailing CR removed), positions = 1-based line
// numbers.
std::vector<BatchItem> split_ndjson(std::string_view body);

}  // namespace dsiem::event
