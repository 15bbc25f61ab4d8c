#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dsiem/common/flat_table.h"
#include "dsiem/config/directive.h"
#include "dsiem/event/event.h"

namespace dsiem::correlate {

// The quick filter of directives.md §4 as a lookup: an event's (plugin_id, plugin_sid) or
// (product, category) leads straight to the directives that can use it, so the cost of an event
// follows what matches, not how many directives are configured. Plugin pairs live in one flat
// table whose slots point into one array of positions: a lookup is one probe, usually one
// cache line, whatever the number of directives.
class DirectiveIndex {
 public:
  // `directives` in load order; indexes refer to positions in it.
  void build(const std::vector<const config::Directive*>& directives);
  // Positions of the directives whose quick filter passes `e`, ascending. The span points into
  // the index, or into `scratch` when plugin and taxonomy matches had to be merged; it lasts
  // until the next build() or the next use of `scratch`.
  std::span<const uint32_t> lookup(const event::Event& e, std::vector<uint32_t>& scratch) const;
  // Starts loading the slot that lookup() of `e` probes first.
  void prefetch(const event::Event& e) const;

 private:
  struct PluginKey {
    int64_t plugin_id = 0;
    int64_t plugin_sid = 0;
    bool operator==(const PluginKey&) const = default;
    uint64_t hash() const;
  };
  struct PluginSlot {
    PluginKey key;
    uint32_t first = 0;  // into positions_
    uint32_t count = 0;  // 0: empty slot
  };
  struct PluginTraits {
    using Key = PluginKey;
    static bool empty(const PluginSlot& s) { return s.count == 0; }
    static bool holds(const PluginSlot& s, const PluginKey& k) { return s.key == k; }
    static uint64_t hash(const PluginSlot& s) { return s.key.hash(); }
    static void claim(PluginSlot& s, const PluginKey& k) { s.key = k; }
  };
  FlatTable<PluginSlot, PluginTraits> by_plugin_;
  std::vector<uint32_t> positions_;
  // "product\x1fcategory" for directives without any plugin pair.
  std::unordered_map<std::string, std::vector<uint32_t>> by_taxonomy_;
};

}  // namespace dsiem::correlate
