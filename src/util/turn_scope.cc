#include "samsa/util/turn_scope.h"

#include <cassert>
#include <utility>

namespace samsa::util {
namespace {

thread_local TurnScope* current = nullptr;

}  // namespace

TurnScope::TurnScope() : enclosing_(current) { current = this; }

TurnScope::~TurnScope() {
  finish();
  current = enclosing_;
}

void TurnScope::finish() {
  // Index, not iterators: the work may defer more (push_back reallocates).
  for (size_t i = 0; i < work_.size(); ++i) {
    auto fn = std::move(work_[i]);
    fn();
  }
  work_.clear();
}

bool TurnScope::active() { return current != nullptr; }

void TurnScope::defer(std::function<void()> fn) {
  assert(current != nullptr);
  current->work_.push_back(std::move(fn));
}

}  // namespace samsa::util
