#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "dsiem/config/directive.h"
#include "dsiem/event/event.h"

namespace dsiem::correlate {

// The quick filter of directives.md §4 as a lookup: an event's (plugin_id, plugin_sid) or
// (product, category) leads straight to the directives that can use it, so the cost of an event
// follows what matches, not how many directives are configured.
class DirectiveIndex {
 public:
  // `directives` in load order; indexes refer to positions in it.
  void build(const std::vector<const config::Directive*>& directives);
  // Positions of the directives whose quick filter passes `e`, ascending, into `out`.
  void lookup(const event::Event& e, std::vector<uint32_t>& out) const;

 private:
  struct PairHash {
    std::size_t operator()(const std::pair<int64_t, int64_t>& p) const {
      // Unsigned arithmetic: event plugin fields can be any int64.
      const auto a = static_cast<uint64_t>(p.first);
      const auto b = static_cast<uint64_t>(p.second);
      return std::hash<uint64_t>()(a * 0x9E3779B97F4A7C15ULL ^ b);
    }
  };
  std::unordered_map<std::pair<int64_t, int64_t>, std::vector<uint32_t>, PairHash> by_plugin_;
  // "product\x1fcategory" for directives without any plugin pair.
  std::unordered_map<std::string, std::vector<uint32_t>> by_taxonomy_;
};

}  // namespace dsiem::correlate
