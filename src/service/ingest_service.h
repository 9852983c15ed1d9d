#pragma once
// Ingest: the asynchronous commit API (the old db_commit). A request names a stream and
// carries records; the answer comes when they are acknowledged by the journal (durable
// by default), with their LSNs.
//
// Checking and journaling a request is commit_admission.h's (shared with
// Sampling.Trigger). Before anything is journaled a request is checked whole (authentication, the stream,
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

#include "service/commit_admission.h"
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
  const ServiceContext ctx_;
};

}  // namespace sluice::service
