// Private: what one bodhi::client shares with its calls.
#pragma once

#include <fedora/bodhi/client.hpp>

#include "../detail/joined_urls.hpp"

#include <boost/url/url.hpp>

#include <mutex>
#include <optional>

namespace fedora::bodhi::detail {

class bodhi_core
{
public:
    bodhi_core(std::shared_ptr<http::client> transport, client_params params);

    std::shared_ptr<http::client> transport;
    client_params params;
    fedora::detail::joined_urls urls;  // from the base URL, which always ends with '/'
    std::string origin;             // of base
    boost::urls::url openid_api;    // the provider's JSON API
    std::string provider_origin;    // of openid_api

    std::optional<server_version> version() const;
    // Keeps the first detected version.
    server_version remember(server_version v);

private:
    mutable std::mutex mutex_;
    std::optional<server_version> detected_;
};

} // namespace fedora::bodhi::detail
