#pragma once
// Serves the Raft RPCs (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch,
// FetchSnapshot, DescribeQuorum) of a RaftManager straight on a
// net::TcpServer listener, without the broker's dispatcher: for tests and
// benches that run quorums in one process. The broker serves the same RPCs
// through its handler table (src/broker/handlers/raft_*.cc).
//
// Threading: on_frame from any network thread; set() is thread-safe. A
// frame that arrives while no manager is set closes its connection.
#include <mutex>

#include "samsa/net/frame_handler.h"

namespace samsa::raft {

class RaftManager;

class RaftFrameHandler final : public net::FrameHandler {
 public:
  // The manager to serve (null: none); it must stay alive until replaced.
  void set(RaftManager* manager);
  void on_frame(const net::ConnectionInfo& conn, net::FramePtr frame, net::ReplyFn reply) override;

 private:
  std::mutex mu_;
  RaftManager* manager_ = nullptr;
};

}  // namespace samsa::raft
