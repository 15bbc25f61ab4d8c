#include "dsiem/enrich/lookup_cache.h"

#include <algorithm>
#include <utility>

namespace dsiem::enrich {

LookupCache::LookupCache(const Clock& clock, std::chrono::nanoseconds ttl, std::size_t max_entries)
    : clock_(clock), ttl_ns_(ttl.count()), max_entries_(std::max<std::size_t>(max_entries, 1)) {}

bool LookupCache::expired(const Entry& e, int64_t now_ns) const {
  return now_ns - e.stored_ns >= ttl_ns_;
}

std::optional<std::vector<alarm::LookupResult>> LookupCache::get(const std::string& key) {
  const int64_t now = clock_.now_ns();
  std::lock_guard lock(mutex_);
  const auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (expired(*it->second, now)) {
    entries_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  return it->second->results;
}

void LookupCache::put(const std::string& key, std::vector<alarm::LookupResult> results) {
  const int64_t now = clock_.now_ns();
  std::lock_guard lock(mutex_);
  if (const auto it = index_.find(key); it != index_.end()) {
    entries_.erase(it->second);
    index_.erase(it);
  }
  // Entries are stored in time order, so the expired ones are at the front.
  while (!entries_.empty() && expired(entries_.front(), now)) {
    index_.erase(entries_.front().key);
    entries_.pop_front();
  }
  if (entries_.size() >= max_entries_) {
    index_.erase(entries_.front().key);
    entries_.pop_front();
  }
  entries_.push_back(Entry{key, now, std::move(results)});
  index_.emplace(key, std::prev(entries_.end()));
}

std::size_t LookupCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace dsiem::enrich
