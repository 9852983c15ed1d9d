#include "service/server.h"

#include <fmt/format.h>

#include "common/file_system.h"
#include "common/log.h"

namespace sluice::service {

Server::~Server() { Shutdown(std::chrono::milliseconds(0)); }

void Server::AddService(std::unique_ptr<grpc::Service> service) {
  services_.push_back(std::move(service));
}

Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const config::TlsConfig& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  FileSystem* fs = FileSystem::Default();
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  SLUICE_ASSIGN_OR_RETURN(pair.cert_chain, ReadWholeFile(fs, tls.cert_file));
  SLUICE_ASSIGN_OR_RETURN(pair.private_key, ReadWholeFile(fs, tls.key_file));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.ca_file.empty()) {
    SLUICE_ASSIGN_OR_RETURN(options.pem_root_certs, ReadWholeFile(fs, tls.ca_file));
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

Status Server::Start(const ServerOptions& options) {
  auto creds = MakeServerCredentials(options.tls);
  if (!creds.ok()) return creds.status().Annotate("TLS");
  grpc::ServerBuilder builder;
  int max_message = static_cast<int>(std::min<uint64_t>(options.max_message_bytes, INT32_MAX));
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  grpc::ResourceQuota quota("sluiced");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  // Two completion queues and few pollers: this runs beside the journal writer and the
  // appliers on small machines.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  // Not SO_REUSEPORT: a second sluiced on the same port must fail, not share it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::vector<std::unique_ptr<int>> selected;
  for (const auto& address : options.listen) {
    selected.push_back(std::make_unique<int>(0));
    builder.AddListeningPort(address.ToString(), *creds, selected.back().get());
  }
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    // gRPC refuses to start when any address cannot be bound.
    std::string addresses;
    for (const auto& a : options.listen)
      addresses += (addresses.empty() ? "" : ", ") + a.ToString();
    return Status::Unavailable(fmt::format(
        "cannot listen on {}: an address is in use or not an address of this machine", addresses));
  }
  for (size_t i = 0; i < selected.size(); ++i) {
    if (*selected[i] == 0) {
      Shutdown(std::chrono::milliseconds(0));
      return Status::Unavailable(fmt::format(
          "cannot listen on {}: the address is in use or not an address of this machine",
          options.listen[i].ToString()));
    }
    ports_.push_back(*selected[i]);
  }
  return Status::OK();
}

void Server::Shutdown(std::chrono::milliseconds deadline) {
  if (server_ == nullptr || shut_down_) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + deadline);
  server_->Wait();
}

}  // namespace sluice::service
