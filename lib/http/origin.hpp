// Private: a URL's origin in pieces, as origin_of() joins them ("scheme://host:port", the
// default port spelled out), so the transport can compose it without a string of its own.
#pragma once

#include <boost/url/url_view.hpp>

#include <array>
#include <string_view>

namespace fedora::http::detail {

inline std::array<std::string_view, 4> origin_pieces(const boost::urls::url_view& url)
{
    const std::string_view scheme = url.scheme();
    const std::string_view default_port = url.has_port() ? "" : scheme == "https" ? ":443" : ":80";
    return {scheme, "://", url.encoded_host_and_port(), default_port};
}

} // namespace fedora::http::detail
