#include "dsiem/correlate/directive_index.h"

#include <algorithm>

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

void DirectiveIndex::build(const std::vector<const config::Directive*>& directives) {
  by_plugin_.clear();
  by_taxonomy_.clear();
  for (uint32_t pos = 0; pos < directives.size(); ++pos) {
    const config::Directive& d = *directives[pos];
    bool has_plugin_pair = false;
    for (const config::Rule& r : d.rules) {
      if (r.plugin_id == 0 || r.plugin_sid.empty()) continue;
      has_plugin_pair = true;
      for (int64_t sid : r.plugin_sid) add_unique(by_plugin_[{r.plugin_id, sid}], pos);
    }
    // Taxonomy pairs are consulted only when the directive has no plugin pair at all.
    if (has_plugin_pair) continue;
    for (const config::Rule& r : d.rules) {
      if (r.product.empty() || r.category.empty()) continue;
      for (const std::string& p : r.product)
        add_unique(by_taxonomy_[taxonomy_key(p, r.category)], pos);
    }
  }
}

void DirectiveIndex::lookup(const event::Event& e, std::vector<uint32_t>& out) const {
  out.clear();
  if (auto it = by_plugin_.find({e.plugin_id, e.plugin_sid}); it != by_plugin_.end()) {
    out = it->second;
  }
  if (!by_taxonomy_.empty()) {
    if (auto it = by_taxonomy_.find(taxonomy_key(e.product, e.category));
        it != by_taxonomy_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
  }
}

}  // namespace dsiem::correlate
