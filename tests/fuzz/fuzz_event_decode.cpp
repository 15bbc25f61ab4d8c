// libFuzzer target: any POST /events body. Decoding must never crash, and a decoded event must
// survive the wire encoding unchanged (what the frontend publishes, a backend decodes back).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dsiem/event/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  dsiem::event::Event e;
  if (!dsiem::event::decode(body, e)) return 0;
  (void)dsiem::event::is_valid(e);
  (void)dsiem::event::parse_rfc3339_seconds(e.timestamp);
  const std::string wire = dsiem::event::encode(e);
  dsiem::event::Event back;
  if (!dsiem::event::decode(wire, back)) std::abort();
  // conn_id / rcvd_time / plugin fields with value 0 are omitted on the wire and decode to 0.
  if (!(back == e)) std::abort();
  return 0;
}
