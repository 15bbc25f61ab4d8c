#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dsiem/alarm/alarm.h"
#include "dsiem/common/clock.h"

namespace dsiem::enrich {

// The answers of one lookup kind (intel or vuln), keyed by term (assets_and_intel.md §5.2,
// §6.2). An entry stored at time t is served while now < t + ttl and never after (a strict TTL,
// gaps_and_weaknesses.md B12). At most `max_entries` are kept: storing into a full cache first
// drops the expired entries, then the oldest. Thread-safe.
class LookupCache {
 public:
  LookupCache(const Clock& clock, std::chrono::nanoseconds ttl, std::size_t max_entries);

  // The stored results for `key` (empty: "not found"), or nullopt when nothing live is stored.
  std::optional<std::vector<alarm::LookupResult>> get(const std::string& key);
  // Stores (or replaces, with a fresh age) the results for `key`; empty means "not found".
  void put(const std::string& key, std::vector<alarm::LookupResult> results);
  std::size_t size() const;

 private:
  struct Entry {
    std::string key;
    int64_t stored_ns = 0;
    std::vector<alarm::LookupResult> results;
  };

  bool expired(const Entry& e, int64_t now_ns) const;

  const Clock& clock_;
  const int64_t ttl_ns_;
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::list<Entry> entries_;  // oldest first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace dsiem::enrich
