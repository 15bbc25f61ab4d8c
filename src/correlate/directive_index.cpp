#include "dsiem/correlate/directive_index.h"

#include <algorithm>
#include <map>

namespace dsiem::correlate {

namespace {

std::string taxonomy_key(std::string_view product, std::string_view category) {
  std::string key;
  key.reserve(product.size() + category.size() + 1);
  key.append(product).push_back('\x1f');
  key.append(category);
  return key;
}

void add_unique(std::vector<uint32_t>& list, uint32_t pos) {
  if (list.empty() || list.back() != pos) list.push_back(pos);
}

}  // namespace

uint64_t DirectiveIndex::PluginKey::hash() const {
  // Unsigned arithmetic: event plugin fields can be any int64. FlatTable spreads the bits.
  return static_cast<uint64_t>(plugin_id) * 0x9E3779B97F4A7C15ULL ^
         static_cast<uint64_t>(plugin_sid);
}

void DirectiveIndex::build(const std::vector<const config::Directive*>& directives) {
  by_plugin_ = {};
  positions_.clear();
  by_taxonomy_.clear();
  std::map<std::pair<int64_t, int64_t>, std::vector<uint32_t>> lists;
  for (uint32_t pos = 0; pos < directives.size(); ++pos) {
    const config::Directive& d = *directives[pos];
    bool has_plugin_pair = false;
    for (const config::Rule& r : d.rules) {
      if (r.plugin_id == 0 || r.plugin_sid.empty()) continue;
      has_plugin_pair = true;
      for (int64_t sid : r.plugin_sid) add_unique(lists[{r.plugin_id, sid}], pos);
    }
    // Taxonomy pairs are consulted only when the directive has no plugin pair at all.
    if (has_plugin_pair) continue;
    for (const config::Rule& r : d.rules) {
      if (r.product.empty() || r.category.empty()) continue;
      for (const std::string& p : r.product)
        add_unique(by_taxonomy_[taxonomy_key(p, r.category)], pos);
    }
  }
  // Many events come from plugins or SIDs no directive names: at most half full, the table
  // answers those with short probes at every size.
  by_plugin_.reserve_slots(2 * lists.size());
  for (const auto& [pair, list] : lists) {
    const PluginKey k{pair.first, pair.second};
    PluginSlot& slot = by_plugin_.insert(k, k.hash());
    slot.first = static_cast<uint32_t>(positions_.size());
    slot.count = static_cast<uint32_t>(list.size());
    positions_.insert(positions_.end(), list.begin(), list.end());
  }
}

std::span<const uint32_t> DirectiveIndex::lookup(const event::Event& e,
                                                 std::vector<uint32_t>& scratch) const {
  std::span<const uint32_t> found;
  const PluginKey key{e.plugin_id, e.plugin_sid};
  if (const PluginSlot* slot = by_plugin_.find(key, key.hash())) {
    found = std::span(positions_).subspan(slot->first, slot->count);
  }
  if (by_taxonomy_.empty()) return found;
  const auto it = by_taxonomy_.find(taxonomy_key(e.product, e.category));
  if (it == by_taxonomy_.end()) return found;
  if (found.empty()) return it->second;
  scratch.assign(found.begin(), found.end());
  scratch.insert(scratch.end(), it->second.begin(), it->second.end());
  std::sort(scratch.begin(), scratch.end());
  scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
  return scratch;
}

void DirectiveIndex::prefetch(const event::Event& e) const {
  by_plugin_.prefetch(PluginKey{e.plugin_id, e.plugin_sid}.hash());
}

}  // namespace dsiem::correlate
