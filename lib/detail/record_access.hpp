// Private: making a record from the JSON text of an object (see fedora/record.hpp).
#pragma once

#include <fedora/record.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace fedora::detail {

struct record_access
{
    // Makes the record's object of the whole parsed text.
    using extractor = boost::json::object (*)(boost::json::value&& whole);

    // `text` is JSON no deeper than 64 levels that the SDK has parsed already: the object
    // itself (as the dump reader writes it), or a whole answer that `extract` takes the
    // record out of. It is parsed when the record is first read.
    static record from_text(std::string text, extractor extract = nullptr);
    // The same of a copy of `text`, made in the allocation that holds the record's state:
    // one allocation where a string of its own would take two.
    static record from_text_copy(std::string_view text);
};

} // namespace fedora::detail
