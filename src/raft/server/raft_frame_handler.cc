#include "samsa/raft/server/raft_frame_handler.h"

#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/raft/server/raft_rpc.h"

namespace samsa::raft {

void RaftFrameHandler::set(RaftManager* manager) {
  std::lock_guard lock(mu_);
  manager_ = manager;
}

void RaftFrameHandler::on_frame(const net::ConnectionInfo&, net::FramePtr frame, net::ReplyFn reply) {
  try {
    protocol::WireReader r(*frame);
    protocol::WireReader peek(*frame);
    const int16_t key = peek.int16();
    const int16_t version = peek.int16();
    protocol::RequestHeader header;
    header.decode(r, protocol::request_header_version(key, version));
    auto answer = [reply, key, version, id = header.correlation_id](const auto& response) {
      protocol::WireWriter w;
      w.int32(0);
      protocol::ResponseHeader rh;
      rh.correlation_id = id;
      rh.encode(w, protocol::response_header_version(key, version));
      response.encode(w, version);
      w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
      reply(net::Reply::send(w.take()));
    };
    // Held while the request is handed over, so set(nullptr) waits for it.
    std::lock_guard lock(mu_);
    if (!manager_) return reply(net::Reply::close());
    switch (static_cast<protocol::ApiKey>(key)) {
      case protocol::ApiKey::Vote: {
        protocol::VoteRequest req;
        req.decode(r, version);
        return serve_vote(*manager_, req, answer);
      }
      case protocol::ApiKey::BeginQuorumEpoch: {
        protocol::BeginQuorumEpochRequest req;
        req.decode(r, version);
        return serve_begin_quorum_epoch(*manager_, req, answer);
      }
      case protocol::ApiKey::EndQuorumEpoch: {
        protocol::EndQuorumEpochRequest req;
        req.decode(r, version);
        return serve_end_quorum_epoch(*manager_, req, answer);
      }
      case protocol::ApiKey::Fetch: {
        protocol::FetchRequest req;
        req.decode(r, version);
        return serve_fetch(*manager_, req, answer);
      }
      case protocol::ApiKey::FetchSnapshot: {
        protocol::FetchSnapshotRequest req;
        req.decode(r, version);
        return serve_fetch_snapshot(*manager_, req, answer);
      }
      case protocol::ApiKey::DescribeQuorum: {
        protocol::DescribeQuorumRequest req;
        req.decode(r, version);
        return serve_describe_quorum(*manager_, req, version, /*forward=*/false, answer);
      }
      case protocol::ApiKey::UpdateRaftVoter: {
        protocol::UpdateRaftVoterRequest req;
        req.decode(r, version);
        return serve_update_raft_voter(*manager_, req, answer);
      }
      default:
        return reply(net::Reply::close());
    }
  } catch (const std::exception&) {
    reply(net::Reply::close());  // malformed: as the broker's dispatcher does
  }
}

}  // namespace samsa::raft
