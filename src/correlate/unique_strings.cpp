#include "dsiem/correlate/unique_strings.h"

#include <algorithm>
#include <bit>

#include "dsiem/common/hash.h"
#include "dsiem/common/prefetch.h"

namespace dsiem::correlate {

UniqueStrings::UniqueStrings(const UniqueStrings& other) : items_(other.items_) {
  if (other.index_) {
    const std::size_t slots = index_slots(items_.size());
    index_ = std::make_unique<Slot[]>(slots);
    std::copy_n(other.index_.get(), slots, index_.get());
  }
}

UniqueStrings& UniqueStrings::operator=(const UniqueStrings& other) {
  if (this != &other) *this = UniqueStrings(other);
  return *this;
}

std::size_t UniqueStrings::index_slots(std::size_t items) {
  return std::max<std::size_t>(64, std::bit_ceil((items * 10 + 6) / 7));
}

bool UniqueStrings::contains(std::string_view s) const {
  return index_ ? probe(s, hash_bytes(s)) : scan(s);
}

bool UniqueStrings::scan(std::string_view s) const {
  for (const std::string& item : items_) {
    if (same_bytes(item, s)) return true;
  }
  return false;
}

// The slot comes from the low bits of the hash, the tag from the high ones.
bool UniqueStrings::probe(std::string_view s, uint64_t hash) const {
  const Slot* index = index_.get();
  const auto tag = static_cast<uint32_t>(hash >> 32);
  const std::size_t mask = index_slots(items_.size()) - 1;
  for (std::size_t i = hash & mask; index[i].position != 0; i = (i + 1) & mask) {
    if (index[i].tag == tag && same_bytes(items_[index[i].position - 1], s)) return true;
  }
  return false;
}

uint64_t UniqueStrings::hash(std::string_view s) {
  return hash_bytes(s);
}

// Besides the slot or the items to scan, the place an insert writes the new item to.
void UniqueStrings::prefetch(uint64_t hash) const {
  if (items_.empty()) return;
  const std::string* end = items_.data() + items_.size();
  if (index_) {
    __builtin_prefetch(&index_[hash & (index_slots(items_.size()) - 1)]);
    __builtin_prefetch(end, 1);
    return;
  }
  prefetch_lines<true>(items_.data(), end + 1);
}

bool UniqueStrings::insert(std::string_view s) {
  return insert(s, index_ ? hash_bytes(s) : 0);
}

bool UniqueStrings::insert(std::string_view s, uint64_t hash) {
  if (!index_) {
    if (scan(s)) return false;
    // Most lists keep one item; one that gets a second is likely to get more, so it skips
    // the small steps (each an allocation, a copy and a free).
    if (items_.size() == 1 && items_.capacity() < kFirstGrowth) items_.reserve(kFirstGrowth);
    items_.emplace_back(s);
    if (items_.size() >= kIndexFrom) rebuild_index();
    return true;
  }
  if (probe(s, hash)) return false;
  const std::size_t slots = index_slots(items_.size());
  items_.emplace_back(s);
  if (index_slots(items_.size()) != slots) {
    rebuild_index();
  } else {
    index_item(items_.size() - 1, hash);
  }
  return true;
}

void UniqueStrings::clear() {
  items_.clear();
  index_.reset();
}

void UniqueStrings::index_item(std::size_t position, uint64_t hash) {
  Slot* index = index_.get();
  const std::size_t mask = index_slots(items_.size()) - 1;
  std::size_t i = hash & mask;
  while (index[i].position != 0) i = (i + 1) & mask;
  index[i] = {static_cast<uint32_t>(hash >> 32), static_cast<uint32_t>(position + 1)};
}

void UniqueStrings::rebuild_index() {
  index_ = std::make_unique<Slot[]>(index_slots(items_.size()));
  for (std::size_t p = 0; p < items_.size(); ++p) index_item(p, hash_bytes(items_[p]));
}

}  // namespace dsiem::correlate
