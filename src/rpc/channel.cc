#include "rpc/channel.h"

#include <algorithm>
#include <climits>

#include "common/file_system.h"

namespace sluice::rpc {

Result<std::shared_ptr<grpc::Channel>> NewChannel(const std::string& address,
                                                  const ChannelOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls || !options.tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      SLUICE_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadWholeFile(FileSystem::Default(), options.tls_ca_file));
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  const int max_bytes = static_cast<int>(std::min<uint64_t>(options.max_message_bytes, INT32_MAX));
  args.SetMaxSendMessageSize(max_bytes);
  args.SetMaxReceiveMessageSize(max_bytes);
  // Each channel its own connection, even when two addresses name one host (the client's
  // addresses fail over independently; a benchmark's producers are separate processes).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (options.fast_reconnect.count() > 0) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(kMaxReconnectBackoff.count()));
    // Despite its name, the minimum time one connection attempt is given.
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                static_cast<int>(std::max<int64_t>(options.fast_reconnect.count(), 100)));
  }
  if (!options.tls_server_name.empty()) {
    args.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, options.tls_server_name);
  }
  return grpc::CreateCustomChannel(address, creds, args);
}

}  // namespace sluice::rpc
