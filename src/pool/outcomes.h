// The answers the session table (Pool, pool.cc) gives that depend on nothing but their
// arguments: refusals, and what the way an execution ended means for its answer. Pure
// functions: any thread may call them.
#pragma once

#include <chrono>
#include <string>

#include "pool/sessions.h"

namespace pool {

// `ms` in seconds, as few digits as it takes ("3", "0.5"), for the texts told to users.
std::string Seconds(std::chrono::milliseconds ms);

// An execution refused before it ran.
ExecuteOutcome Refusal(Outcome outcome, std::string detail, int retry_after = 0);

// Why a running execution was interrupted, if it was: its deadline passed, Interrupt asked,
// or its client hung up (Abandon). One reason at most: a second one finds it interrupting.
enum class Interruption { kNone, kDeadline, kRequested, kHangup };

// The outcome, detail and state_preserved of a finished execution that ran under `timeout`:
// the kernel did not stop when interrupted and was replaced (`killed`), else it died during
// the execution (`died` says how; empty if it did not), else the interrupt took, else it
// completed. (A hang-up's answer is kAbandoned, which the caller sets: nobody reads it.)
ExecuteOutcome FinishedOutcome(std::chrono::milliseconds timeout, Interruption interruption,
                               bool killed, const std::string& died);

}  // namespace pool
