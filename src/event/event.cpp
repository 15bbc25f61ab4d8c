#include "dsiem/event/event.h"

#include <array>
#include <cstring>
#include <exception>

#include "dsiem/common/hash.h"
#include "dsiem/json/go_reader.h"
#include "dsiem/json/go_writer.h"

namespace dsiem::event {
namespace {

// JSON keys in the Go struct's declaration order (which is also the wire order), and the
// "Struct.field" names Go's type errors use.
enum Field : int {
  kConnId,
  kEventId,
  kTimestamp,
  kTitle,
  kSensor,
  kPluginId,
  kPluginSid,
  kProduct,
  kCategory,
  kSubcategory,
  kSrcIp,
  kSrcPort,
  kDstIp,
  kDstPort,
  kProtocol,
  kCustomData1,
  kCustomLabel1,
  kCustomData2,
  kCustomLabel2,
  kCustomData3,
  kCustomLabel3,
  kRcvdTime,
  kTraceParent,
  kTraceState,
  kFieldCount,
};

constexpr std::array<std::string_view, kFieldCount> kNames = {
    "conn_id",       "event_id",      "timestamp",    "title",         "sensor",
    "plugin_id",     "plugin_sid",    "product",      "category",      "subcategory",
    "src_ip",        "src_port",      "dst_ip",       "dst_port",      "protocol",
    "custom_data1",  "custom_label1", "custom_data2", "custom_label2", "custom_data3",
    "custom_label3", "rcvd_time",     "trace_parent", "trace_state",
};

constexpr std::array<std::string_view, kFieldCount> kQualified = {
    "NormalizedEvent.conn_id",       "NormalizedEvent.event_id",
    "NormalizedEvent.timestamp",     "NormalizedEvent.title",
    "NormalizedEvent.sensor",        "NormalizedEvent.plugin_id",
    "NormalizedEvent.plugin_sid",    "NormalizedEvent.product",
    "NormalizedEvent.category",      "NormalizedEvent.subcategory",
    "NormalizedEvent.src_ip",        "NormalizedEvent.src_port",
    "NormalizedEvent.dst_ip",        "NormalizedEvent.dst_port",
    "NormalizedEvent.protocol",      "NormalizedEvent.custom_data1",
    "NormalizedEvent.custom_label1", "NormalizedEvent.custom_data2",
    "NormalizedEvent.custom_label2", "NormalizedEvent.custom_data3",
    "NormalizedEvent.custom_label3", "NormalizedEvent.rcvd_time",
    "NormalizedEvent.trace_parent",  "NormalizedEvent.trace_state",
};

// reflect.Type.String() of the Go struct, used when the body is not an object at all.
constexpr std::string_view kGoType = "event.NormalizedEvent";

std::string* string_field(Event& e, int idx) {
  switch (idx) {
    case kEventId:
      return &e.event_id;
    case kTimestamp:
      return &e.timestamp;
    case kTitle:
      return &e.title;
    case kSensor:
      return &e.sensor;
    case kProduct:
      return &e.product;
    case kCategory:
      return &e.category;
    case kSubcategory:
      return &e.subcategory;
    case kSrcIp:
      return &e.src_ip;
    case kDstIp:
      return &e.dst_ip;
    case kProtocol:
      return &e.protocol;
    case kCustomData1:
      return &e.custom_data1;
    case kCustomLabel1:
      return &e.custom_label1;
    case kCustomData2:
      return &e.custom_data2;
    case kCustomLabel2:
      return &e.custom_label2;
    case kCustomData3:
      return &e.custom_data3;
    case kCustomLabel3:
      return &e.custom_label3;
    case kTraceParent:
      return &e.trace_parent;
    case kTraceState:
      return &e.trace_state;
    default:
      return nullptr;
  }
}

int64_t* int_field(Event& e, int idx) {
  switch (idx) {
    case kPluginId:
      return &e.plugin_id;
    case kPluginSid:
      return &e.plugin_sid;
    case kSrcPort:
      return &e.src_port;
    case kDstPort:
      return &e.dst_port;
    default:
      return nullptr;
  }
}

// Reads exactly n digits at s[pos]; -1 if any is missing.
int digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to the given proleptic Gregorian date (month 1-12, year >= 0): whole
// 400-year cycles of 146,097 days, then the years and days within the cycle counted from March,
// which puts the leap day at the end of the counted year.
int64_t days_since_epoch(int year, int month, int day) {
  if (month <= 2) --year;
  const int cycle = (year >= 0 ? year : year - 399) / 400;
  const int year_of_cycle = year - cycle * 400;
  const int day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int day_of_cycle =
      year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
  constexpr int64_t kEpochFromCycleStart = 719468;  // 0000-03-01 to 1970-01-01
  return static_cast<int64_t>(cycle) * 146097 + day_of_cycle - kEpochFromCycleStart;
}

void append_str_field(std::string& out, std::string_view key, const std::string& value) {
  out += key;
  json::append_string(out, value);
}

void append_opt_str_field(std::string& out, std::string_view key, const std::string& value) {
  if (!value.empty()) append_str_field(out, key, value);
}

// Empties every field, keeping the strings' buffers: a recycled Event decodes without
// allocating.
void reset(Event& e) {
  for (int idx = 0; idx < kFieldCount; ++idx) {
    if (std::string* s = string_field(e, idx)) s->clear();
  }
  e.conn_id = 0;
  e.plugin_id = e.plugin_sid = e.src_port = e.dst_port = e.rcvd_time = 0;
}

// The fields of `root` into `out` (reset first). Throws json::DecodeError.
void decode_fields(simdjson::dom::element root, Event& out) {
  static const json::FieldIndex names(kNames);
  reset(out);
  json::for_each_field(root, names, kGoType, [&](int idx, simdjson::dom::element v) {
    if (std::string* s = string_field(out, idx)) {
      json::read_string(v, *s, kQualified[idx]);
    } else if (int64_t* i = int_field(out, idx)) {
      json::read_int(v, *i, kQualified[idx]);
    } else if (idx == kConnId) {
      json::read_uint(v, out.conn_id, kQualified[idx], "uint64");
    } else if (idx == kRcvdTime) {
      json::read_int(v, out.rcvd_time, kQualified[idx], "int64");
    }
  });
}

// Runs `decode`, turning what it throws into false and Go's message in `error`.
template <typename Decode>
bool catching(std::string* error, Decode&& decode) {
  try {
    decode();
    return true;
  } catch (const std::exception& ex) {
    if (error) *error = ex.what();
  } catch (...) {
    if (error) *error = "json: unknown decode failure";
  }
  return false;
}

}  // namespace

bool decode(std::string_view body, Event& out, std::string* error) {
  thread_local simdjson::dom::parser parser;
  return catching(error, [&] { decode_fields(json::parse(parser, body), out); });
}

bool decode(simdjson::dom::element object, Event& out, std::string* error) {
  return catching(error, [&] { decode_fields(object, out); });
}

bool is_valid(const Event& e) {
  if (e.timestamp.empty() || e.sensor.empty() || e.event_id.empty() || e.src_ip.empty() ||
      e.dst_ip.empty()) {
    return false;
  }
  if (e.plugin_id == 0 || e.plugin_sid == 0) {
    return !e.product.empty() && !e.category.empty();
  }
  return true;
}

void encode_to(std::string& out, const Event& e) {
  out += '{';
  if (e.conn_id != 0) {
    out += "\"conn_id\":";
    json::append_uint(out, e.conn_id);
    out += ',';
  }
  append_str_field(out, "\"event_id\":", e.event_id);
  append_str_field(out, ",\"timestamp\":", e.timestamp);
  append_opt_str_field(out, ",\"title\":", e.title);
  append_str_field(out, ",\"sensor\":", e.sensor);
  if (e.plugin_id != 0) {
    out += ",\"plugin_id\":";
    json::append_int(out, e.plugin_id);
  }
  if (e.plugin_sid != 0) {
    out += ",\"plugin_sid\":";
    json::append_int(out, e.plugin_sid);
  }
  append_opt_str_field(out, ",\"product\":", e.product);
  append_opt_str_field(out, ",\"category\":", e.category);
  append_opt_str_field(out, ",\"subcategory\":", e.subcategory);
  append_str_field(out, ",\"src_ip\":", e.src_ip);
  out += ",\"src_port\":";
  json::append_int(out, e.src_port);
  append_str_field(out, ",\"dst_ip\":", e.dst_ip);
  out += ",\"dst_port\":";
  json::append_int(out, e.dst_port);
  append_str_field(out, ",\"protocol\":", e.protocol);
  append_opt_str_field(out, ",\"custom_data1\":", e.custom_data1);
  append_opt_str_field(out, ",\"custom_label1\":", e.custom_label1);
  append_opt_str_field(out, ",\"custom_data2\":", e.custom_data2);
  append_opt_str_field(out, ",\"custom_label2\":", e.custom_label2);
  append_opt_str_field(out, ",\"custom_data3\":", e.custom_data3);
  append_opt_str_field(out, ",\"custom_label3\":", e.custom_label3);
  if (e.rcvd_time != 0) {
    out += ",\"rcvd_time\":";
    json::append_int(out, e.rcvd_time);
  }
  append_opt_str_field(out, ",\"trace_parent\":", e.trace_parent);
  append_opt_str_field(out, ",\"trace_state\":", e.trace_state);
  out += '}';
}

std::string encode(const Event& e) {
  std::string out;
  out.reserve(384);
  encode_to(out, e);
  return out;
}

namespace {

// Seconds since the epoch of a local date and time, before the zone offset; nullopt when a
// field is out of range (a day beyond its month included).
std::optional<int64_t> local_seconds(int year, int month, int day, int hour, int minute,
                                     int second) {
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 59) {
    return std::nullopt;
  }
  if (day > days_in_month(year, month)) return std::nullopt;
  return days_since_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

// The usual shape "YYYY-MM-DDTHH:MM:SS" (two-digit hour) of ts[0, 19): every digit checked and
// summed in one pass.
std::optional<int64_t> usual_local_seconds(std::string_view ts) {
  static constexpr std::array<uint8_t, 14> kDigitAt = {0, 1,  2,  3,  5,  6,  8,
                                                       9, 11, 12, 14, 15, 17, 18};
  std::array<int, 14> d{};
  unsigned bad = 0;
  for (size_t i = 0; i < kDigitAt.size(); ++i) {
    const unsigned v = static_cast<unsigned char>(ts[kDigitAt[i]]) - static_cast<unsigned>('0');
    bad |= v > 9;
    d[i] = static_cast<int>(v);
  }
  if (bad) return std::nullopt;
  return local_seconds(((d[0] * 10 + d[1]) * 10 + d[2]) * 10 + d[3], d[4] * 10 + d[5],
                       d[6] * 10 + d[7], d[8] * 10 + d[9], d[10] * 10 + d[11], d[12] * 10 + d[13]);
}

}  // namespace

std::optional<int64_t> parse_rfc3339_seconds(std::string_view ts) {
  // Go's time.Parse(time.RFC3339, ...) walks the layout "2006-01-02T15:04:05Z07:00": the year
  // has 4 digits, month, day, minute and second exactly 2, but the hour ("15") 1 or 2.
  if (ts.size() < 11 || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T') return std::nullopt;
  std::optional<int64_t> local;
  size_t pos;
  if (ts.size() >= 20 && ts[13] == ':' && ts[16] == ':') {
    // The events of one second share their first 19 characters: each thread keeps the last
    // valid ones and their value.
    constexpr size_t kPrefix = 19;
    thread_local std::array<char, kPrefix> cached_text{};
    thread_local int64_t cached_value = 0;
    thread_local bool cached = false;
    if (cached && same_bytes({ts.data(), kPrefix}, {cached_text.data(), kPrefix})) {
      local = cached_value;
    } else if ((local = usual_local_seconds(ts))) {
      std::memcpy(cached_text.data(), ts.data(), kPrefix);
      cached_value = *local;
      cached = true;
    }
    pos = kPrefix;
  } else {
    const int year = digits(ts, 0, 4);
    const int month = digits(ts, 5, 2);
    const int day = digits(ts, 8, 2);
    pos = 11;
    const size_t hour_len = pos + 1 < ts.size() && ts[pos + 1] >= '0' && ts[pos + 1] <= '9' ? 2 : 1;
    const int hour = digits(ts, pos, hour_len);
    pos += hour_len;
    if (pos + 6 > ts.size() || ts[pos] != ':' || ts[pos + 3] != ':') return std::nullopt;
    local = local_seconds(year, month, day, hour, digits(ts, pos + 1, 2), digits(ts, pos + 4, 2));
    pos += 6;
  }
  if (!local) return std::nullopt;

  // Go accepts a fraction the layout does not mention: '.' or ',' then at least one digit.
  if (pos + 1 < ts.size() && (ts[pos] == '.' || ts[pos] == ',') && ts[pos + 1] >= '0' &&
      ts[pos + 1] <= '9') {
    pos += 2;
    while (pos < ts.size() && ts[pos] >= '0' && ts[pos] <= '9') ++pos;
  }

  int64_t offset = 0;
  const std::string_view zone = ts.substr(pos);
  if (zone.size() != 1 || zone[0] != 'Z') {
    // +HH:MM or -HH:MM; like Go 1.19, any two digits are taken as hours and minutes.
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') {
      return std::nullopt;
    }
    const int oh = digits(zone, 1, 2);
    const int om = digits(zone, 4, 2);
    if (oh < 0 || om < 0) return std::nullopt;
    offset = (static_cast<int64_t>(oh) * 60 + om) * 60;
    if (zone[0] == '-') offset = -offset;
  }
  return *local - offset;
}

}  // namespace dsiem::event
