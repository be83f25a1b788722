#pragma once
// Work a thread defers to the end of its current "turn": a network thread's
// read turn of one connection (net::Connection::read_more) opens a
// TurnScope, the requests it dispatches may defer work into it, and the
// scope runs that work, in the order deferred, when the turn ends (before
// the connection writes the turn's answers).
//
// Why: a produce request stages its appends instead of writing each at once
// (log.h, Log::append_as_leader with an owner), and the first deferred
// write of a partition writes every append the turn staged there in one
// gather write: a turn that read ten requests writes each partition once.
//
// Threads: a scope belongs to the thread that opened it; defer() reaches the
// innermost scope open on the calling thread. Scopes nest (a connection
// resumed from inside another's deferred work opens its own): each runs its
// own work. Code that may run outside any turn checks active() and does the
// work at once instead.
#include <functional>
#include <vector>

namespace samsa::util {

class TurnScope {
 public:
  TurnScope();
  ~TurnScope();  // finish(), then the enclosing scope (if any) is current again
  TurnScope(const TurnScope&) = delete;
  TurnScope& operator=(const TurnScope&) = delete;

  // Runs the deferred work in order, including work deferred while it runs.
  // The scope stays open.
  void finish();

  // Whether a scope is open on this thread.
  static bool active();
  // REQUIRES: active(). Runs `fn` when the innermost scope finishes.
  static void defer(std::function<void()> fn);

 private:
  std::vector<std::function<void()>> work_;
  TurnScope* enclosing_;
};

}  // namespace samsa::util
