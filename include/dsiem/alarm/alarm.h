#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsiem/config/directive.h"

// Alarm records of siem_alarms.json and links of siem_alarm_events.json (alarms.md §1-§4).
namespace dsiem::alarm {

// Settings shared by every alarm: the first --status / --tags values and the risk classes.
struct AlarmSettings {
  std::string status = "Open";
  std::string tag = "Identified Threat";
  int64_t med_risk_min = 3;
  int64_t med_risk_max = 6;

  // "Low", "Medium" or "High" (alarms.md §4).
  std::string_view risk_class(int64_t risk) const;
};

// An intel or vulnerability result.
struct LookupResult {
  std::string provider;
  std::string term;
  std::string result;
  bool operator==(const LookupResult&) const = default;
};

// One rule object of an alarm: the directive rule plus the backlog's resolved values and
// run-time fields.
struct RuleView {
  const config::Rule* rule = nullptr;
  std::string_view from, to, port_from, port_to;
  std::string_view custom_data1, custom_data2, custom_data3;
  int64_t start_time = 0;
  int64_t end_time = 0;
  int64_t rcvd_time = 0;
  std::string_view status;
};

// Everything one siem_alarms.json line holds. The pointed-to data must outlive encode().
struct AlarmView {
  std::string_view alarm_id;
  std::string_view title;
  std::string_view status;
  std::string_view kingdom;
  std::string_view category;
  int64_t created_time = 0;
  int64_t update_time = 0;
  int64_t risk = 0;
  std::string_view risk_class;
  std::string_view tag;
  const std::vector<std::string>* src_ips = nullptr;
  const std::vector<std::string>* dst_ips = nullptr;
  const std::vector<LookupResult>* intel_hits = nullptr;       // omitted when null or empty
  const std::vector<LookupResult>* vulnerabilities = nullptr;  // omitted when null or empty
  const std::vector<std::pair<std::string, std::string>>* custom_data = nullptr;  // label, content
  const std::vector<std::string>* networks = nullptr;
  std::vector<RuleView> rules;
};

// Where, in a record appended by append_alarm_json, the intel_hits/vulnerabilities members
// start (right after dst_ips) and where the networks member starts (custom_data lies between).
// Lookup snapshots (alarms.md §3.2) are spliced together from these offsets.
struct AlarmJsonLayout {
  std::size_t findings_at = 0;
  std::size_t networks_at = 0;
};

// Appends the compact JSON of an alarm record (key order, omissions and Go escaping of
// alarms.md §2), without a newline. With `layout`, records the offsets (into `out`) above.
void append_alarm_json(std::string& out, const AlarmView& alarm, AlarmJsonLayout* layout = nullptr);

// Appends `,"<key>":[{"provider":..,"term":..,"result":..},...]`; nothing when `results` is null
// or empty.
void append_lookup_results(std::string& out, std::string_view key,
                           const std::vector<LookupResult>* results);

// Appends {"alarm_id":..,"stage":..,"event_id":..} without a newline.
void append_link_json(std::string& out, std::string_view alarm_id, int64_t stage,
                      std::string_view event_id);

}  // namespace dsiem::alarm
