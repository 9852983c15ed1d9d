#pragma once
// The Sluice client library: what SCADA, EMS and hydrology programs link to hand their
// samples, events and SQL to `sluiced` (the old db_commit client, net_pathing and
// re_commit/db_reinforce in one).
//
//   sluice::client::ClientOptions options;
//   options.addresses = {"10.1.0.5:7400", "10.2.0.5:7400"};  // network A, network B
//   options.token = "...";
//   options.spool_dir = "/var/lib/myapp/sluice-spool";
//   auto client = sluice::client::Client::Open(options);
//   if (!client.ok()) ...
//   auto result = (*client)->Commit("samples", records);
//
// Addresses. The addresses are tried in order, starting from the last one that answered;
// a call moves on to the next when an address cannot be reached (connection refused,
// UNAVAILABLE) or does not answer in time (DEADLINE_EXCEEDED).
//
// Commits are asynchronous writes into a stream of the service's journal. Each one is
// numbered with the client's next sequence on that stream (contiguous, starting at 1),
// and the service admits a commit only if it carries the next sequence it expects from
// this client: so a commit whose answer was lost can be sent again, on any address, and
// still lands exactly once. The client id names the client across restarts: it is given
// in the options or generated once and kept in SPOOL_DIR/client_id.
//
// The spool. When no address answers, a commit is written to a local journal in the
// spool directory (fdatasync'd) and reported as kSpooled: it is durable on this machine
// and will be delivered. A background thread resubmits spooled commits in order once the
// service is back; while a stream's spool is not empty, new commits on that stream are
// spooled too, so that the service receives every stream in commit order. Spooled
// commits survive a restart of the client process (resubmission resumes at Open). One
// process at a time may use a spool directory.
//
// Synchronous calls (Execute, GetOutcome, Update, Watch, Download) are thin wrappers
// over the service's Sql, Model and Download services. They are never spooled: with no
// service they fail with kUnavailable. A write whose request may have reached the
// service before the connection failed is never sent again on another address (it is
// not de-duplicated); it is answered OUTCOME_UNKNOWN with its request id instead.
//
// Errors use sluice::Status: the service's gRPC status codes map onto the code of the
// same name (UNAVAILABLE -> kUnavailable, FAILED_PRECONDITION -> kFailedPrecondition,
// DATA_LOSS -> kCorruption, CANCELLED -> kAborted, UNKNOWN -> kOutcomeUnknown as the
// service uses it, UNIMPLEMENTED and INTERNAL -> kInternal), and the message is the
// service's, prefixed with the address.
//
// Thread safety: a Client is safe to share between threads. Commits on one stream are
// serialised (they are numbered and sent one after the other); commits on different
// streams proceed in parallel.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sluice/status.h"
#include "sluice/v1/records.pb.h"
#include "sluice/v1/service.pb.h"

namespace sluice::client {

struct ClientOptions {
  // "host:port" of the service, in order of preference (e.g. one per network).
  // REQUIRES: at least one.
  std::vector<std::string> addresses;
  // Bearer token sent with every call; empty when the service does not require one.
  std::string token;
  // The client's persistent identity for de-duplication. Empty: read from
  // SPOOL_DIR/client_id, or generated and stored there the first time. Without a spool
  // directory an empty id is generated for this process only.
  std::string client_id;
  // Directory of the local spool. Empty: no spool; a commit no address accepts then
  // fails with kUnavailable.
  std::string spool_dir;

  // TLS: with a CA file (PEM) the service's certificate is verified against it; with
  // `tls` and no CA file, against the system's roots. Neither: plain text.
  std::string tls_ca_file;
  bool tls = false;
  // Name expected in the service's certificate, when it differs from the address' host.
  std::string tls_server_name;

  // How long one address may take to accept a connection before the next is tried.
  std::chrono::milliseconds connect_timeout{2000};
  // Deadline of one commit attempt on one address (until it is durable in the journal).
  std::chrono::milliseconds commit_timeout{10000};
  // Deadline of Execute, GetOutcome, Update and of the first answer of Hello.
  std::chrono::milliseconds call_timeout{30000};
  // Largest message sent or received; should match the service's
  // limits.max_message_size. Also the largest commit the spool accepts.
  uint64_t max_message_bytes = 64ull << 20;

  // How often the background thread tries again while the service is away.
  std::chrono::milliseconds resubmit_interval{500};
  // Disk budget of the spool (0: none). A commit that would exceed it fails with
  // kResourceExhausted.
  uint64_t spool_budget_bytes = 0;
  uint64_t spool_segment_bytes = 16ull << 20;
};

enum class CommitState {
  // Durable in the service's journal; `lsns` are the records' LSNs.
  kAcknowledged,
  // An earlier attempt of this commit, whose answer was lost, had been admitted (the
  // service said so when it was sent again). Its LSNs are not known.
  kAlreadyAdmitted,
  // Durable in the local spool; it will be delivered in order in the background.
  kSpooled,
};

struct CommitResult {
  CommitState state = CommitState::kAcknowledged;
  uint64_t sequence = 0;  // 0 for a spooled commit whose number is not known yet
  std::vector<uint64_t> lsns;
  std::string address;  // the address that answered (empty when spooled)
};

// The spool of one stream, as seen now.
struct StreamSpoolStatus {
  std::string stream;
  uint64_t pending = 0;        // commits in the spool, not yet delivered
  uint64_t next_sequence = 0;  // 0: not known yet (the service was never reached)
  uint64_t delivered = 0;      // spooled commits delivered since Open
  uint64_t rejected = 0;       // spooled commits the service refused for good
  // Why delivery is stuck (a sequence gap, a refused token, ...), empty when it is not.
  std::string last_error;
};

class Client {
 public:
  // Validates the options, opens (and recovers) the spool, and starts the resubmission
  // thread. Does not need the service: the first call that does contacts it.
  static Result<std::unique_ptr<Client>> Open(ClientOptions options);

  // Stops resubmission (what is left stays in the spool for the next Open) and cancels
  // calls in progress. REQUIRES: no call of this client is running in another thread.
  virtual ~Client() = default;

  // Commits records to `stream`. On success the result says whether they are durable in
  // the service (kAcknowledged, kAlreadyAdmitted) or in the spool (kSpooled). Errors:
  // a refusal of the service (kInvalidArgument naming the limit, kResourceExhausted when
  // its journal is full, kUnauthenticated, kPermissionDenied: nothing was admitted), or
  // of the spool (kResourceExhausted at its budget, kIOError). Without a spool,
  // kUnavailable when no address answered (the commit may then have been admitted).
  virtual Result<CommitResult> Commit(const std::string& stream,
                                      std::vector<v1::Record> records) = 0;
  // One record holding `batch`.
  virtual Result<CommitResult> CommitSamples(const std::string& stream, v1::SampleBatch batch) = 0;

  // Sql.Execute. A write carries a request id (request.request_id, or one the library
  // makes, 128 random bits in hex), returned in the response. An OUTCOME_UNKNOWN answer
  // is a success of the call: the response carries the LSN to ask GetOutcome about, or,
  // when the call was cut off before the service answered (it crashed, the connection
  // failed after the request was sent), LSN 0 and the request id to ask
  // GetOutcomeByRequestId about. Such a write is never sent again by the library.
  virtual Result<v1::ExecuteResponse> Execute(const v1::ExecuteRequest& request) = 0;
  virtual Result<v1::ExecuteResponse> GetOutcome(uint64_t lsn) = 0;
  // The outcome of the latest write journaled with `request_id`: APPLIED, REJECTED,
  // PENDING; kNotFound when no write with that id reached the journal (so none will be
  // applied), or retention deleted it.
  virtual Result<v1::ExecuteResponse> GetOutcomeByRequestId(const std::string& request_id) = 0;
  // Model.Update (a synchronous write published to watchers); request ids as Execute.
  virtual Result<v1::ExecuteResponse> Update(const v1::ExecuteRequest& request) = 0;
  // Model.WatchChanges: calls `on_change` for every change from `from_lsn` on (0: from
  // now on) until it returns false (then OK), the call fails (kOutOfRange: from_lsn is no
  // longer in the journal; kUnavailable: the service went away), or CancelCalls().
  // Runs in the calling thread.
  virtual Status Watch(uint64_t from_lsn,
                       const std::function<bool(const v1::ModelChange&)>& on_change) = 0;
  // Download.ReadTable: calls `on_batch` for every batch of rows (the first one names
  // the columns) until the end (OK) or it returns false (OK, the rest is not read).
  virtual Status Download(const v1::ReadTableRequest& request,
                          const std::function<bool(const v1::RowBatch&)>& on_batch) = 0;

  // Sampling (docs/sampling.md). PutPoints and Define are synchronous writes of the
  // sampling catalog, answered and never resent as Execute's writes (request ids as
  // Execute); a change the catalog refuses is kInvalidArgument naming the entry and field.
  virtual Result<v1::ExecuteResponse> PutPoints(const v1::PutPointsRequest& request) = 0;
  virtual Result<v1::ExecuteResponse> Define(const v1::DefineRequest& request) = 0;
  // Sampling.UpdatePoints: `updates` on one call, the current values of the real-time
  // point table. Not spooled (a current value is worth sending only now); sent to the
  // next address when one fails (a value set twice is the same current value).
  virtual Result<v1::UpdatePointsResponse> UpdatePoints(const std::vector<v1::PointUpdate>& updates) = 0;
  // Trigger types (burst_type): PutTriggerTypes and DeleteTriggerTypes are catalog writes
  // answered as PutPoints; ListTriggerTypes lists them by id.
  virtual Result<v1::ExecuteResponse> PutTriggerTypes(const v1::PutTriggerTypesRequest& request) = 0;
  virtual Result<v1::ExecuteResponse> DeleteTriggerTypes(const v1::DeleteTriggerTypesRequest& request) = 0;
  virtual Result<v1::ListTriggerTypesResponse> ListTriggerTypes() = 0;
  // Sampling.Trigger: one triggered sample (a burst_sample row), answered with its LSN once
  // durable in the service's journal. Not spooled. With request.client set (a client id and
  // its next sequence on the service's [sampling] stream, in the numbering of its commits
  // there) the service de-duplicates it, so a call that failed on one address is sent to
  // the next; without, a call that may have reached the service is not sent again and ends
  // kOutcomeUnknown. A refusal (unknown type: kNotFound; a value the type does not take:
  // kInvalidArgument naming the column) journaled nothing.
  virtual Result<v1::CommitResponse> Trigger(const v1::TriggerRequest& request) = 0;
  // Recall windows. PutRecalls and DeleteRecalls are catalog writes as PutPoints;
  // ListRecalls answers the definitions with the events the daemon holds open.
  // TriggerRecall starts an event (event_ts_us 0: the time the service receives it) and
  // answers its time and the rows journaled at once; it is sent to the next address when
  // one fails only when event_ts_us is set (a repeat of an event at the same time is the
  // same event; a second "now" would be another one).
  virtual Result<v1::ExecuteResponse> PutRecalls(const v1::PutRecallsRequest& request) = 0;
  virtual Result<v1::ExecuteResponse> DeleteRecalls(const v1::DeleteRecallsRequest& request) = 0;
  virtual Result<v1::ListRecallsResponse> ListRecalls() = 0;
  virtual Result<v1::TriggerRecallResponse> TriggerRecall(
      const v1::TriggerRecallRequest& request) = 0;
  // History.ModifySamples: the manual correction of history samples, a synchronous write
  // answered and never resent as Execute's (request ids as Execute). A refused request
  // journaled nothing: kInvalidArgument naming the edit and what is wrong, kNotFound
  // naming the samples that do not exist (unless request.insert_missing).
  virtual Result<v1::ExecuteResponse> ModifySamples(const v1::ModifySamplesRequest& request) = 0;

  // Makes every Watch and Download in progress return kAborted. Thread safe.
  virtual void CancelCalls() = 0;

  // Waits until every stream's spool is empty (OK), or `timeout` passes
  // (kDeadlineExceeded, naming the streams still pending and why).
  virtual Status WaitForSpoolDrained(std::chrono::milliseconds timeout) = 0;
  // One entry per stream that has been spooled to since Open (or had spooled commits).
  virtual std::vector<StreamSpoolStatus> SpoolStatus() const = 0;

  virtual const std::string& client_id() const = 0;
  // The address calls start from (the last one that answered).
  virtual std::string current_address() const = 0;
};

}  // namespace sluice::client
