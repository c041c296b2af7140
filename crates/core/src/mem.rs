//! Memory placement hints for the large per-voxel arrays of the transport kernel.
//!
//! The kernel reads the medium of a random voxel at the end of every flight and adds to
//! the tally of a random voxel at every deposit. On a 150^3 grid these arrays span 7 MB
//! and 27 MB: thousands of 4 KB pages, more than the processor's TLB holds, so most
//! accesses also pay a page-table walk. Backed by 2 MB transparent huge pages they need a
//! few dozen TLB entries (measured: +4 % histories/s for the water-cube benchmark, see
//! `docs/performance.md`). Linux gives huge pages to a region only where the system
//! setting is `always`, or where it is `madvise` (Debian's default) and the program has
//! asked for them with `madvise(MADV_HUGEPAGE)` before the memory is first written:
//! [`with_capacity_huge`] does that. It is a hint: no result depends on it, and where it is
//! refused (another OS, huge pages disabled) nothing changes.

/// An empty vector with room for `n` values whose memory has been advised to the kernel
/// as a candidate for transparent huge pages (Linux; elsewhere a plain
/// `Vec::with_capacity`). Fill it with `push` or `extend` afterwards: pages are given
/// their final size when first written.
pub fn with_capacity_huge<T>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    advise_huge_pages(
        v.as_mut_ptr().cast::<u8>(),
        n.saturating_mul(size_of::<T>()),
    );
    v
}

/// Advises the kernel that the `len` bytes at `ptr` would benefit from huge pages (the
/// whole 4 KB pages inside the range; nothing for ranges shorter than a huge page).
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    const PAGE: usize = 4096;
    const HUGE: usize = 2 << 20;
    if len < HUGE {
        return;
    }
    let start = (ptr as usize).div_ceil(PAGE) * PAGE;
    let end = (ptr as usize + len) / PAGE * PAGE;
    if end <= start {
        return;
    }
    // SAFETY: madvise with MADV_HUGEPAGE only changes how the kernel backs the pages of
    // the range, never their contents or validity; the range lies inside the vector's
    // allocation (rounded inwards to whole pages). A failure (e.g. huge pages disabled)
    // is harmless and ignored.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_vector_behaves_as_a_vector() {
        let n = 3 << 20;
        let mut v = with_capacity_huge::<u16>(n);
        assert!(v.capacity() >= n && v.is_empty());
        v.extend((0..n).map(|i| i as u16));
        assert_eq!(v[n - 1], (n - 1) as u16);
        let small = with_capacity_huge::<u64>(10);
        assert!(small.capacity() >= 10);
    }
}
