#pragma once
// Ingest: the asynchronous commit API (the old db_commit). A request names a stream and
// carries records; the answer comes when they are acknowledged by the journal (durable
// by default), with their LSNs.
//
// Before anything is journaled a request is checked whole (authentication, the stream,
// the client's sequence, the limits, every record through the Admitter), so a refused
// request journaled nothing and a corrected retry is safe. Refusals:
//   UNAUTHENTICATED / PERMISSION_DENIED   token (role "ingest")
//   NOT_FOUND                             the stream does not exist
//   FAILED_PRECONDITION                   the client's sequence is not the next one
//                                         ("expected sequence N")
//   INVALID_ARGUMENT                      a limit or a record ("record I: ..."), naming
//                                         the limit and the value
//   RESOURCE_EXHAUSTED                    the journal's budget or free-space floor; gRPC's
//                                         own message-size limit
// A request is journaled whole or not at all (Admitter::AdmitBatch queues its records
// with one append), so every refusal journaled nothing and leaves the client's sequence
// where it was. Only a failure of the journal after the records were queued (an I/O
// error) leaves them unacknowledged: that is answered UNAVAILABLE ("resubmit it with
// the same sequence"), never a definite failure, since recovery keeps what reached the
// disk; the journal then refuses everything until sluiced restarts.
//
// Hello answers only sequences whose records are durable (it waits for the journal, as
// the "expected sequence N" refusal does), and UNAVAILABLE while a journal has failed: a
// client drops what Hello reports from its spool.
//
// Thread safety: the gRPC server calls methods from many threads at once.

#include "service/service_context.h"
#include "sluice/v1/service.grpc.pb.h"

namespace sluice::service {

class IngestService final : public v1::Ingest::Service {
 public:
  explicit IngestService(const ServiceContext& context) : ctx_(context) {}

  grpc::Status Hello(grpc::ServerContext* context, const v1::HelloRequest* request,
                     v1::HelloResponse* response) override;
  grpc::Status Commit(grpc::ServerContext* context, const v1::CommitRequest* request,
                      v1::CommitResponse* response) override;
  grpc::Status CommitStream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::CommitResponse, v1::CommitRequest>* stream) override;

 private:
  // A request that is journaled: its LSNs, to be acknowledged once `last` is durable.
  struct Journaled {
    journal::Journal* journal = nullptr;
    journal::Lsn last = 0;
    v1::CommitResponse response;
    std::string stream;
    uint64_t sequence = 0;  // the client's sequence; 0 without a client id
  };
  // Checks and journals a request without waiting for durability.
  Result<Journaled> Admit(const v1::CommitRequest& request);
  // What the RPC allows: records per request, the kinds a client may commit, the size
  // with the stamps. The record itself is validated by the admitter (record::Validate).
  Status CheckLimits(const v1::CommitRequest& request) const;
  Status CheckRecord(const v1::Record& record, size_t index) const;

  const ServiceContext ctx_;
};

}  // namespace sluice::service
