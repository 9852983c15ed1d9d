#pragma once
// The implementation behind sluice::client::Client, split by concern:
//   client_open.cc      Open, the client id, spool recovery, shutdown, status
//   client_commit.cc    Hello, numbering, commits sent directly or spooled
//   client_resubmit.cc  the background thread that delivers the spool
//   client_calls.cc     Execute, GetOutcome, Update, Watch, Download
//   client_triggers.cc  trigger types and triggers (Sampling service)
//   client_history_calls.cc  History.ModifySamples
//
// Sequence numbers. Per stream the client keeps the next sequence, once known: from the
// service's Hello (its last sequence + 1), or from the spool's last pending entry after a
// restart. While no Hello has succeeded and the spool of a stream is empty, the number is
// not known; commits then go to the spool unnumbered and are numbered (durably, by an
// anchor record) once the service answers a Hello, before any of them is sent.
//
// A stream is in "spool mode" while its spool holds pending entries (or the cursor that
// says they are delivered is not durable yet): commits are appended to the spool behind
// them. Only when the resubmitter has delivered the last entry and made that durable does
// the stream return to sending directly. Because the spool's cursor is durable whenever
// the stream sends directly, the pending entries found at Open are always the newest
// commits of their stream, so their last sequence + 1 is the next one.
//
// Locks: a stream's mu may be held while taking streams_mu_ (the map and the Hello's
// answer), never the other way round; hello_mu_ (a Hello on the network) is taken with no
// stream's mu held. A stream's mu is held over a direct send (commits on a stream are
// serialised) but not while a spooled commit waits for its fdatasync.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/connections.h"
#include "client/spool.h"
#include "sluice/client.h"

namespace sluice::client {

// Appends "ADDRESS: WHAT" to `why`, "; "-separated: why no address of the service
// answered, one reason per address (client_calls.cc).
void AddWhy(std::string* why, const std::string& address, std::string_view what);

class ClientImpl final : public Client {
 public:
  ~ClientImpl() override;

  Result<CommitResult> Commit(const std::string& stream, std::vector<v1::Record> records) override;
  Result<CommitResult> CommitSamples(const std::string& stream, v1::SampleBatch batch) override;
  Result<v1::ExecuteResponse> Execute(const v1::ExecuteRequest& request) override;
  Result<v1::ExecuteResponse> GetOutcome(uint64_t lsn) override;
  Result<v1::ExecuteResponse> GetOutcomeByRequestId(const std::string& request_id) override;
  Result<v1::ExecuteResponse> Update(const v1::ExecuteRequest& request) override;
  Result<v1::ExecuteResponse> PutPoints(const v1::PutPointsRequest& request) override;
  Result<v1::ExecuteResponse> Define(const v1::DefineRequest& request) override;
  Result<v1::UpdatePointsResponse> UpdatePoints(const std::vector<v1::PointUpdate>& updates) override;
  Result<v1::ExecuteResponse> PutTriggerTypes(const v1::PutTriggerTypesRequest& request) override;
  Result<v1::ExecuteResponse> DeleteTriggerTypes(const v1::DeleteTriggerTypesRequest& request) override;
  Result<v1::ListTriggerTypesResponse> ListTriggerTypes() override;
  Result<v1::CommitResponse> Trigger(const v1::TriggerRequest& request) override;
  Result<v1::ExecuteResponse> PutRecalls(const v1::PutRecallsRequest& request) override;
  Result<v1::ExecuteResponse> DeleteRecalls(const v1::DeleteRecallsRequest& request) override;
  Result<v1::ListRecallsResponse> ListRecalls() override;
  Result<v1::TriggerRecallResponse> TriggerRecall(const v1::TriggerRecallRequest& request) override;
  Result<v1::ExecuteResponse> ModifySamples(const v1::ModifySamplesRequest& request) override;
  Status Watch(uint64_t from_lsn,
               const std::function<bool(const v1::ModelChange&)>& on_change) override;
  Status Download(const v1::ReadTableRequest& request,
                  const std::function<bool(const v1::RowBatch&)>& on_batch) override;
  void CancelCalls() override;
  Status WaitForSpoolDrained(std::chrono::milliseconds timeout) override;
  std::vector<StreamSpoolStatus> SpoolStatus() const override;
  const std::string& client_id() const override { return client_id_; }
  std::string current_address() const override;

 private:
  friend class Client;

  struct StreamState {
    explicit StreamState(std::string n) : name(std::move(n)) {}
    const std::string name;
    // Serialises the commits of the stream: they are numbered and sent one at a time.
    std::mutex mu;
    bool known = false;                // guarded by mu; next_sequence is known
    uint64_t next_sequence = 0;        // guarded by mu
    std::deque<PendingEntry> pending;  // guarded by mu; spooled, not delivered, in order
    // The last entry was delivered but the cursor saying so is not durable yet.
    bool flush_needed = false;  // guarded by mu
    uint64_t delivered = 0;     // guarded by mu
    uint64_t rejected = 0;      // guarded by mu
    std::string last_error;     // guarded by mu

    bool spool_mode() const { return !pending.empty() || flush_needed; }
  };

  explicit ClientImpl(ClientOptions options) : options_(std::move(options)) {}

  // client_open.cc
  Status Init();
  Status RecoverSpool();
  StreamState* GetStream(const std::string& name);
  std::vector<StreamState*> AllStreams() const;

  // client_commit.cc
  // Says Hello once per process (until it succeeds). kUnavailable when no address
  // answered; another error when the service refused. A committer (`background` false)
  // does not try again within kHelloRetry of a failed attempt: the resubmitter keeps
  // trying, and a commit meanwhile goes to the spool at once.
  Status EnsureHello(bool background);
  void ApplyHello(const v1::HelloResponse& response);
  // REQUIRES: st->mu held and st->known false. Numbers the stream from `last` + 1.
  void NumberLocked(StreamState* st, uint64_t last);
  // REQUIRES: lk holds st->mu. Queues the commit on the spool under the lock (so spool
  // order is sequence order), then releases it while the spool makes it durable.
  Result<CommitResult> SpoolLocked(StreamState* st, std::unique_lock<std::mutex>& lk,
                                   v1::CommitRequest request);
  // REQUIRES: lk holds st->mu, st->known. Sends directly; spools when no address answers.
  Result<CommitResult> SendLocked(StreamState* st, std::unique_lock<std::mutex>& lk,
                                  v1::CommitRequest request);
  Status CheckRecords(const std::string& stream, const std::vector<v1::Record>& records) const;

  // client_resubmit.cc
  void ResubmitLoop();
  enum class Drain { kIdle, kProgress, kUnreachable, kStuck };
  Drain DrainStream(StreamState* st);
  // Sends up to `max` pending entries of `st` on one CommitStream call, pipelined, and
  // finishes those answered. Returns how many were answered, or kUnreachable when no
  // address connects. An entry the stream could not settle is left for SendFront.
  Result<size_t> StreamEntries(StreamState* st, size_t max);
  // Sends the front entry alone (unary Commit, every address in turn) and settles it from
  // the service's answer: delivered, admitted earlier, refused for good, or stuck.
  Drain SendFront(StreamState* st);
  // REQUIRES: st->mu held. Records why delivery is stuck (logged once per distinct error).
  void SetErrorLocked(StreamState* st, std::string error);
  // REQUIRES: st->mu held. The front entry was delivered (or refused for good).
  void FinishFrontLocked(StreamState* st, bool delivered);
  // REQUIRES: st->mu held. Makes "everything delivered" durable (sets flush_needed on
  // failure).
  void FlushDrainedLocked(StreamState* st);
  void WakeResubmitter();

  // client_calls.cc
  // Runs `fn` on the addresses in turn. When `resend_safe` is false (a write that is not
  // de-duplicated), a call that may have reached the service is not sent again: it ends
  // with kOutcomeUnknown.
  Status CallAny(bool resend_safe, std::chrono::milliseconds timeout,
                 const std::function<grpc::Status(Endpoint&, grpc::ClientContext*)>& fn);
  // Sql.GetOutcome (by LSN or by request id); a question, so safe to send again.
  Result<v1::ExecuteResponse> AskOutcome(const v1::GetOutcomeRequest& req);
  // A synchronous write (Sql.Execute or Model.Update) with a request id (a new one when
  // the request has none); a call cut off after it may have been sent is answered
  // OUTCOME_UNKNOWN with that id.
  Result<v1::ExecuteResponse> SyncWrite(
      v1::ExecuteRequest request,
      const std::function<grpc::Status(Endpoint&, grpc::ClientContext*, const v1::ExecuteRequest&,
                                       v1::ExecuteResponse*)>& call);

  const ClientOptions options_;
  std::string client_id_;
  std::unique_ptr<FileLock> lock_;  // SPOOL_DIR/client.lock, held for the client's life
  std::unique_ptr<Spool> spool_;    // null without a spool directory
  std::unique_ptr<Connections> conns_;

  mutable std::mutex streams_mu_;
  std::map<std::string, std::unique_ptr<StreamState>, std::less<>>
      streams_;                                 // guarded by streams_mu_
  bool hello_known_ = false;                    // guarded by streams_mu_
  std::map<std::string, uint64_t> hello_last_;  // guarded by streams_mu_

  std::mutex hello_mu_;  // one Hello at a time
  std::atomic<bool> hello_done_{false};
  std::mutex hello_failure_mu_;
  std::chrono::steady_clock::time_point hello_failed_at_{};  // guarded by hello_failure_mu_
  std::string hello_failure_;                                // guarded by hello_failure_mu_
  std::atomic<uint32_t> max_records_per_request_{0};         // 0: not known
  std::atomic<uint64_t> service_max_message_bytes_{0};       // 0: not known

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;      // guarded by wake_mu_
  bool stopping_ = false;  // guarded by wake_mu_
  std::atomic<bool> stop_{false};
  std::thread resubmitter_;
  // The resubmitter's call in flight, cancelled at shutdown.
  std::mutex resubmit_ctx_mu_;
  grpc::ClientContext* resubmit_ctx_ = nullptr;  // guarded by resubmit_ctx_mu_
};

}  // namespace sluice::client
