#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace simdjson::dom {
class element;
}

namespace dsiem::event {

// One normalized event (events.md §2). Field order follows the wire encoding.
struct Event {
  uint64_t conn_id = 0;
  std::string event_id;
  std::string timestamp;
  std::string title;
  std::string sensor;
  int64_t plugin_id = 0;
  int64_t plugin_sid = 0;
  std::string product;
  std::string category;
  std::string subcategory;
  std::string src_ip;
  int64_t src_port = 0;
  std::string dst_ip;
  int64_t dst_port = 0;
  std::string protocol;
  std::string custom_data1;
  std::string custom_label1;
  std::string custom_data2;
  std::string custom_label2;
  std::string custom_data3;
  std::string custom_label3;
  int64_t rcvd_time = 0;  // Unix nanoseconds, set by the ingesting node
  std::string trace_parent;
  std::string trace_state;

  const std::string& custom_data(int k) const {
    return k == 1 ? custom_data1 : (k == 2 ? custom_data2 : custom_data3);
  }
  const std::string& custom_label(int k) const {
    return k == 1 ? custom_label1 : (k == 2 ? custom_label2 : custom_label3);
  }
  bool operator==(const Event&) const = default;
};

// Decodes one event body under Go encoding/json rules (go_reader.h). On failure returns false
// and, if `error` is given, stores Go's error text. `out` is reset first; its strings keep their
// buffers, so decoding into a reused Event does not allocate.
bool decode(std::string_view body, Event& out, std::string* error = nullptr);
// The same for a value of an already parsed document (an element of a batch array).
bool decode(simdjson::dom::element value, Event& out, std::string* error = nullptr);

// events.md §3: the required strings are non-empty, and an event without both plugin fields
// carries product and category.
bool is_valid(const Event& e);

// The Go wire encoding (events.md §7): key order and omissions exactly, Go escaping, no
// trailing newline. encode_to appends to `out`.
std::string encode(const Event& e);
void encode_to(std::string& out, const Event& e);

// RFC3339 timestamp (events.md §4) to Unix seconds, fraction dropped; nullopt when it does not
// parse (no 'T', no zone, out-of-range fields, ...).
std::optional<int64_t> parse_rfc3339_seconds(std::string_view ts);

}  // namespace dsiem::event
