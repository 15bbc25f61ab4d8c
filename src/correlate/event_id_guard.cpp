#include "dsiem/correlate/event_id_guard.h"

#include "dsiem/common/hash.h"

namespace dsiem::correlate {

uint64_t EventIdGuard::hash(std::string_view event_id) {
  return hash_bytes(event_id);
}

void EventIdGuard::add(uint64_t key, uint64_t backlog_seq) {
  Slot& s = slots_.insert(key, key);
  ++s.count;
  s.holder = static_cast<uint32_t>(backlog_seq);
}

void EventIdGuard::release(uint64_t key) {
  Slot* s = slots_.find(key, key);
  if (s && --s->count == 0) slots_.erase(*s);
}

bool EventIdGuard::held(uint64_t key, uint32_t* last_holder) const {
  const Slot* s = slots_.find(key, key);
  if (!s) return false;
  if (last_holder) *last_holder = s->holder;
  return true;
}

}  // namespace dsiem::correlate
