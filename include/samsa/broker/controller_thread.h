#pragma once
// Requests whose work blocks (a controller commit ends in an fsync of the
// metadata log; creating partitions makes directories and files; DeleteRecords
// writes a checkpoint) run on the broker's controller thread, never on a
// network thread, as Kafka hands them to its controller event queue: the
// network thread returns at once and serves its other connections; the job
// answers through its Responder when done, and the connection still sends
// replies in request order (net/frame_handler.h).
//
// Threading: callable from any thread. Jobs run one at a time, in the order
// they were handed over, so controller decisions stay serial.
#include <functional>

#include "samsa/broker/request_context.h"

namespace samsa::broker {

using ControllerJob = std::function<void(const RequestContext& ctx, Responder responder)>;

// Runs `job` on the controller thread (inline when the broker has none, as
// unit-test fixtures do, or when already on it). The job's context owns a
// copy of the connection's info, so it may outlive the connection. A job
// that throws closes the connection, as the dispatcher does.
void run_on_controller_thread(const RequestContext& ctx, Responder responder, ControllerJob job);

// True when a handler runs on a network thread and should hand blocking work
// over (false inline, i.e. without a controller thread or already on it).
bool should_hand_over(const RequestContext& ctx);

}  // namespace samsa::broker
