#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dsiem::correlate {

// An insertion-ordered list of distinct strings with constant-time membership tests: a backlog's
// src_ips / dst_ips can grow to thousands of addresses, and every appended event checks its
// addresses against them. Small lists are scanned; from kIndexFrom items on, an open-addressing
// index of 8-byte slots (hash tag + position) is kept beside the list. The index's size follows
// from the item count alone (index_slots), so finding a slot reads no index header: a prefetch
// of it costs no cache miss of its own.
class UniqueStrings {
 public:
  UniqueStrings() = default;
  UniqueStrings(const UniqueStrings& other);
  UniqueStrings& operator=(const UniqueStrings& other);
  UniqueStrings(UniqueStrings&&) noexcept = default;
  UniqueStrings& operator=(UniqueStrings&&) noexcept = default;

  static constexpr std::size_t kIndexFrom = 16;
  // Capacity a list takes when its second item arrives.
  static constexpr std::size_t kFirstGrowth = 8;

  // The hash insert/contains use for `s`, for callers that compute it ahead of time.
  static uint64_t hash(std::string_view s);

  // Appends `s` unless present; true when appended.
  bool insert(std::string_view s);
  // The same with `hash` = hash(s).
  bool insert(std::string_view s, uint64_t hash);
  // Starts loading what insert/contains of the string with `hash` will read first.
  void prefetch(uint64_t hash) const;
  bool contains(std::string_view s) const;
  void clear();
  const std::vector<std::string>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

 private:
  struct Slot {
    uint32_t tag = 0;       // high half of the hash
    uint32_t position = 0;  // index into items_ plus one; 0: empty
  };
  // Slots of the index of a list of `items` items (at least kIndexFrom): the smallest power of
  // two from 64 that keeps it at most 70 % full.
  static std::size_t index_slots(std::size_t items);
  bool scan(std::string_view s) const;
  bool probe(std::string_view s, uint64_t hash) const;
  void index_item(std::size_t position, uint64_t hash);
  void rebuild_index();

  std::vector<std::string> items_;
  // Null until kIndexFrom items, then index_slots(items_.size()) slots. Behind a pointer: most
  // lists (a backlog's sources) never get one, and every live backlog holds two lists.
  std::unique_ptr<Slot[]> index_;
};

}  // namespace dsiem::correlate
