// libFuzzer target: any directives file, then a few events through the directives it yields.
// Loading must reject bad input with an error, never crash; correlation must never crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dsiem/alarm/record_sink.h"
#include "dsiem/common/clock.h"
#include "dsiem/common/log.h"
#include "dsiem/config/assets.h"
#include "dsiem/config/directive.h"
#include "dsiem/correlate/engine.h"
#include "dsiem/event/event.h"

namespace {

class NullSink final : public dsiem::alarm::RecordSink {
 public:
  void write_link(std::string) override {}
  void write_alarm(std::string) override {}
};

dsiem::event::Event make_event(int64_t plugin_id, int64_t sid, const char* src, const char* ts) {
  dsiem::event::Event e;
  e.event_id = std::string("f-") + src + "-" + std::to_string(sid);
  e.timestamp = ts;
  e.sensor = "fuzz";
  e.plugin_id = plugin_id;
  e.plugin_sid = sid;
  e.product = "Firewall";
  e.category = "Packet processing";
  e.src_ip = src;
  e.dst_ip = "10.0.0.2";
  e.src_port = 1234;
  e.dst_port = 80;
  e.custom_data1 = "deny";
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    dsiem::log::setup(false);
    return true;
  }();
  (void)quiet;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  dsiem::config::DirectiveSet set;
  try {
    dsiem::config::accept_directives(dsiem::config::decode_directives(text, "fuzz"), set);
  } catch (const dsiem::config::ConfigError&) {
    return 0;
  }
  if (set.directives.empty()) return 0;
  auto assets = std::make_shared<dsiem::config::Assets>();
  assets->add_from_json(R"({"assets":[{"name":"n","cidr":"10.0.0.0/8","value":5}]})");
  dsiem::ManualClock clock(1704067200);
  NullSink sink;
  dsiem::correlate::Engine engine(set.directives, assets, clock, sink, {});
  int64_t pid = 1;
  for (const auto& d : set.directives) {
    for (const auto& r : d.rules) {
      if (r.plugin_id != 0) pid = r.plugin_id;
      const int64_t sid = r.plugin_sid.empty() ? 1 : r.plugin_sid.front();
      engine.process(make_event(pid, sid, "10.0.0.1", "2024-01-01T00:00:00Z"));
      engine.process(make_event(pid, sid, "192.168.1.1", "2024-01-01T00:00:01Z"));
    }
  }
  clock.advance_seconds(100000);
  engine.tick();
  return 0;
}
