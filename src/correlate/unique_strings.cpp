#include "dsiem/correlate/unique_strings.h"

#include "dsiem/common/hash.h"

namespace dsiem::correlate {

bool UniqueStrings::contains(std::string_view s) const {
  return index_.empty() ? scan(s) : probe(s, hash_bytes(s));
}

bool UniqueStrings::scan(std::string_view s) const {
  for (const std::string& item : items_) {
    if (item == s) return true;
  }
  return false;
}

// The slot comes from the low bits of the hash, the tag from the high ones.
bool UniqueStrings::probe(std::string_view s, uint64_t hash) const {
  const auto tag = static_cast<uint32_t>(hash >> 32);
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash & mask; index_[i].position != 0; i = (i + 1) & mask) {
    if (index_[i].tag == tag && items_[index_[i].position - 1] == s) return true;
  }
  return false;
}

uint64_t UniqueStrings::hash(std::string_view s) {
  return hash_bytes(s);
}

void UniqueStrings::prefetch(uint64_t hash) const {
  if (index_.empty()) {
    if (!items_.empty()) __builtin_prefetch(items_.data());
    return;
  }
  __builtin_prefetch(&index_[hash & (index_.size() - 1)]);
}

bool UniqueStrings::insert(std::string_view s) {
  return insert(s, index_.empty() ? 0 : hash_bytes(s));
}

bool UniqueStrings::insert(std::string_view s, uint64_t hash) {
  if (index_.empty()) {
    if (scan(s)) return false;
    items_.emplace_back(s);
    if (items_.size() >= kIndexFrom) rebuild_index(64);
    return true;
  }
  if (probe(s, hash)) return false;
  items_.emplace_back(s);
  if (items_.size() * 10 > index_.size() * 7) {
    rebuild_index(index_.size() * 2);
  } else {
    index_item(items_.size() - 1, hash);
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
  for (std::size_t p = 0; p < items_.size(); ++p) index_item(p, hash_bytes(items_[p]));
}

}  // namespace dsiem::correlate
