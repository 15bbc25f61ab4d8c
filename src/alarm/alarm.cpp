#include "dsiem/alarm/alarm.h"

#include <charconv>
#include <cstring>

#include "dsiem/json/go_writer.h"

namespace dsiem::alarm {

namespace {

using json::append_int;
using json::append_key;
using json::append_string;

void append_string_array(std::string& out, const std::vector<std::string>* items) {
  if (!items) {
    out.append("null");
    return;
  }
  out.push_back('[');
  for (std::size_t i = 0; i < items->size(); ++i) {
    if (i) out.push_back(',');
    append_string(out, (*items)[i]);
  }
  out.push_back(']');
}

void field(std::string& out, std::string_view key, std::string_view value) {
  out.push_back(',');
  append_key(out, key);
  append_string(out, value);
}

void field(std::string& out, std::string_view key, int64_t value) {
  out.push_back(',');
  append_key(out, key);
  append_int(out, value);
}

void optional_field(std::string& out, std::string_view key, std::string_view value) {
  if (!value.empty()) field(out, key, value);
}

void optional_array(std::string& out, std::string_view key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  out.push_back(',');
  append_key(out, key);
  append_string_array(out, &v);
}

void append_rule(std::string& out, const RuleView& v) {
  const config::Rule& r = *v.rule;
  out.push_back('{');
  append_key(out, "name");
  append_string(out, r.name);
  field(out, "stage", r.stage);
  field(out, "plugin_id", r.plugin_id);
  out.push_back(',');
  append_key(out, "plugin_sid");
  if (!r.plugin_sid_set) {
    out.append("null");
  } else {
    out.push_back('[');
    for (std::size_t i = 0; i < r.plugin_sid.size(); ++i) {
      if (i) out.push_back(',');
      append_int(out, r.plugin_sid[i]);
    }
    out.push_back(']');
  }
  optional_array(out, "product", r.product);
  optional_field(out, "category", r.category);
  optional_array(out, "subcategory", r.subcategory);
  field(out, "occurrence", r.occurrence);
  field(out, "from", v.from);
  field(out, "to", v.to);
  field(out, "type", r.type);
  field(out, "port_from", v.port_from);
  field(out, "port_to", v.port_to);
  optional_field(out, "protocol", r.protocol);
  field(out, "reliability", r.reliability);
  field(out, "timeout", r.timeout);
  if (v.start_time != 0) field(out, "start_time", v.start_time);
  if (v.end_time != 0) field(out, "end_time", v.end_time);
  if (v.rcvd_time != 0) field(out, "rcvd_time", v.rcvd_time);
  optional_field(out, "status", v.status);
  optional_field(out, "sticky_different", r.sticky_different);
  optional_field(out, "custom_data1", v.custom_data1);
  optional_field(out, "custom_label1", r.custom_label1);
  optional_field(out, "custom_data2", v.custom_data2);
  optional_field(out, "custom_label2", r.custom_label2);
  optional_field(out, "custom_data3", v.custom_data3);
  optional_field(out, "custom_label3", r.custom_label3);
  out.push_back('}');
}

}  // namespace

std::string_view AlarmSettings::risk_class(int64_t risk) const {
  if (risk < med_risk_min) return "Low";
  if (risk <= med_risk_max) return "Medium";
  return "High";
}

void append_lookup_results(std::string& out, std::string_view key,
                           const std::vector<LookupResult>* results) {
  if (!results || results->empty()) return;
  out.push_back(',');
  append_key(out, key);
  out.push_back('[');
  for (std::size_t i = 0; i < results->size(); ++i) {
    const LookupResult& r = (*results)[i];
    if (i) out.push_back(',');
    out.push_back('{');
    append_key(out, "provider");
    append_string(out, r.provider);
    out.push_back(',');
    append_key(out, "term");
    append_string(out, r.term);
    out.push_back(',');
    append_key(out, "result");
    append_string(out, r.result);
    out.push_back('}');
  }
  out.push_back(']');
}

void append_alarm_json(std::string& out, const AlarmView& a, AlarmJsonLayout* layout) {
  out.push_back('{');
  append_key(out, "alarm_id");
  append_string(out, a.alarm_id);
  field(out, "title", a.title);
  field(out, "status", a.status);
  field(out, "kingdom", a.kingdom);
  field(out, "category", a.category);
  field(out, "created_time", a.created_time);
  field(out, "update_time", a.update_time);
  field(out, "risk", a.risk);
  field(out, "risk_class", a.risk_class);
  field(out, "tag", a.tag);
  out.push_back(',');
  append_key(out, "src_ips");
  append_string_array(out, a.src_ips);
  out.push_back(',');
  append_key(out, "dst_ips");
  append_string_array(out, a.dst_ips);
  if (layout) layout->findings_at = out.size();
  append_lookup_results(out, "intel_hits", a.intel_hits);
  append_lookup_results(out, "vulnerabilities", a.vulnerabilities);
  if (a.custom_data && !a.custom_data->empty()) {
    out.push_back(',');
    append_key(out, "custom_data");
    out.push_back('[');
    for (std::size_t i = 0; i < a.custom_data->size(); ++i) {
      if (i) out.push_back(',');
      out.push_back('{');
      append_key(out, "label");
      append_string(out, (*a.custom_data)[i].first);
      field(out, "content", (*a.custom_data)[i].second);
      out.push_back('}');
    }
    out.push_back(']');
  }
  if (layout) layout->networks_at = out.size();
  out.push_back(',');
  append_key(out, "networks");
  if (a.networks) {
    append_string_array(out, a.networks);
  } else {
    out.append("[]");
  }
  out.push_back(',');
  append_key(out, "rules");
  out.push_back('[');
  for (std::size_t i = 0; i < a.rules.size(); ++i) {
    if (i) out.push_back(',');
    append_rule(out, a.rules[i]);
  }
  out.push_back(']');
  out.push_back('}');
}

void append_link_json(std::string& out, std::string_view alarm_id, int64_t stage,
                      std::string_view event_id) {
  if (json::is_plain(alarm_id) && json::is_plain(event_id)) {
    // One line per correlated event: written in one piece when nothing needs escaping.
    constexpr std::string_view kHead = "{\"alarm_id\":\"";
    constexpr std::string_view kStage = "\",\"stage\":";
    constexpr std::string_view kEvent = ",\"event_id\":\"";
    constexpr std::string_view kTail = "\"}";
    char digits[24];
    const auto stage_end = std::to_chars(digits, digits + sizeof digits, stage).ptr;
    const std::string_view stage_text(digits, static_cast<std::size_t>(stage_end - digits));
    const std::size_t at = out.size();
    out.resize(at + kHead.size() + alarm_id.size() + kStage.size() + stage_text.size() +
               kEvent.size() + event_id.size() + kTail.size());
    char* p = out.data() + at;
    // One copy per part, spelled out: those of constant size compile to plain stores.
    const auto put = [&p](std::string_view part) {
      std::memcpy(p, part.data(), part.size());
      p += part.size();
    };
    put(kHead);
    put(alarm_id);
    put(kStage);
    put(stage_text);
    put(kEvent);
    put(event_id);
    put(kTail);
    return;
  }
  out.append("{\"alarm_id\":");
  append_string(out, alarm_id);
  out.append(",\"stage\":");
  append_int(out, stage);
  out.append(",\"event_id\":");
  append_string(out, event_id);
  out.push_back('}');
}

}  // namespace dsiem::alarm
