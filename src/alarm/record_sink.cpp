#include "dsiem/alarm/record_sink.h"

namespace dsiem::alarm {

void RecordSink::write_links(std::string_view all, std::size_t /*count*/) {
  std::size_t start = 0;
  for (std::size_t end = all.find('\n'); end != std::string_view::npos;
       start = end + 1, end = all.find('\n', start)) {
    write_link(std::string(all.substr(start, end - start)));
  }
}

}  // namespace dsiem::alarm
