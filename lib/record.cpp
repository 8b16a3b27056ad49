#include "detail/record_access.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include <cstring>
#include <mutex>
#include <utility>

namespace fedora {

struct record::text_form
{
    text_form(std::string t, detail::record_access::extractor e) : owned(std::move(t)), text(owned), extract(e) {}
    // `at`: room for the text, made by text_after_allocator before this is constructed.
    text_form(char* const& at, std::string_view t) : text(at, t.size()), extract(nullptr)
    {
        if (!t.empty())
            std::memcpy(at, t.data(), t.size());
    }

    text_form(const text_form&) = delete;  // `text` may view `owned`, or what follows this

    const std::string owned;  // the text when it was handed over as a string
    const std::string_view text;
    const detail::record_access::extractor extract;
    std::once_flag parsed_once;
    boost::json::object parsed;
};

record& record::operator=(record&& other) noexcept
{
    if (this != &other) {
        std::destroy_at(&parsed_);
        std::construct_at(&parsed_, std::move(other.parsed_));
        text_ = std::move(other.text_);
    }
    return *this;
}

const boost::json::object& record::object() const
{
    if (!text_)
        return parsed_;
    // call_once: the first reader parses, concurrent readers wait for it, and a reader that
    // threw (out of memory) leaves the next one to try again.
    std::call_once(text_->parsed_once, [form = text_.get()] {
        boost::json::parse_options opt;
        opt.max_depth = 64;  // what the dump reader accepted
        auto whole = boost::json::parse(form->text, {}, opt);
        form->parsed = form->extract ? form->extract(std::move(whole)) : std::move(whole.as_object());
    });
    return text_->parsed;
}

namespace detail {
namespace {

// Allocates what std::allocate_shared asks for (the control block and the object in it)
// with `text_size` bytes more after it, and says where those are.
template <class T>
struct text_after_allocator
{
    using value_type = T;

    text_after_allocator(std::size_t size, char** at) noexcept : text_size(size), text_at(at) {}
    template <class U>
    text_after_allocator(const text_after_allocator<U>& other) noexcept
        : text_size(other.text_size), text_at(other.text_at)
    {
    }

    T* allocate(std::size_t n)
    {
        const std::size_t head = n * sizeof(T);
        auto* p = static_cast<char*>(::operator new(head + text_size));
        *text_at = p + head;
        return reinterpret_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }

    template <class U>
    bool operator==(const text_after_allocator<U>&) const noexcept { return true; }

    std::size_t text_size;
    char** text_at;
};

} // namespace

record record_access::from_text_copy(std::string_view text)
{
    char* at = nullptr;  // set by the allocator before text_form is constructed with it
    record r;
    r.text_ = std::allocate_shared<record::text_form>(
        text_after_allocator<record::text_form>(text.size(), &at), std::as_const(at), text);
    return r;
}

record record_access::from_text(std::string text, extractor extract)
{
    record r;
    r.text_ = std::make_shared<record::text_form>(std::move(text), extract);
    return r;
}

} // namespace detail
} // namespace fedora
