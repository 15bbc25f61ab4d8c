#include "dsiem/correlate/unique_strings.h"

#include <functional>

namespace dsiem::correlate {

namespace {

uint64_t hash_of(std::string_view s) {
  uint64_t h = std::hash<std::string_view>{}(s);
  // Spread the bits: the slot comes from the low bits, the tag from the high ones.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

bool UniqueStrings::contains(std::string_view s) const {
  if (index_.empty()) {
    for (const std::string& item : items_) {
      if (item == s) return true;
    }
    return false;
  }
  const uint64_t h = hash_of(s);
  const auto tag = static_cast<uint32_t>(h >> 32);
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = h & mask; index_[i].position != 0; i = (i + 1) & mask) {
    if (index_[i].tag == tag && items_[index_[i].position - 1] == s) return true;
  }
  return false;
}

bool UniqueStrings::insert(std::string_view s) {
  if (contains(s)) return false;
  items_.emplace_back(s);
  if (!index_.empty()) {
    if (items_.size() * 10 > index_.size() * 7) {
      rebuild_index(index_.size() * 2);
    } else {
      index_item(items_.size() - 1, hash_of(s));
    }
  } else if (items_.size() >= kIndexFrom) {
    rebuild_index(64);
  }
  return true;
}

void UniqueStrings::clear() {
  items_.clear();
  index_.clear();
}

void UniqueStrings::index_item(std::size_t position, uint64_t hash) {
  const std::size_t mask = index_.size() - 1;
  std::size_t i = hash & mask;
  while (index_[i].position != 0) i = (i + 1) & mask;
  index_[i] = {static_cast<uint32_t>(hash >> 32), static_cast<uint32_t>(position + 1)};
}

void UniqueStrings::rebuild_index(std::size_t slots) {
  index_.assign(slots, Slot{});
  for (std::size_t p = 0; p < items_.size(); ++p) index_item(p, hash_of(items_[p]));
}

}  // namespace dsiem::correlate
