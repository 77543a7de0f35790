//! Large arrays on 2 MiB pages.
//!
//! A run keeps its per-key state in a few large arrays (storage records,
//! the record index) that it reads at random. With the
//! system's 4 KiB pages every such read may miss the TLB and walk the page
//! tables (dearer still in a virtual machine), and every page costs a fault
//! when first touched. On Linux, an array that reaches `HUGE` bytes is
//! therefore *advised* for transparent huge pages before anything is
//! written into it: the kernel backs its aligned 2 MiB stretches with one
//! page each where it can (with `transparent_hugepage` set to `madvise` or
//! `always`; with `never` nothing changes). Measured on the default
//! scenario and on nine fully meshed DCs (`cargo bench --bench suite`): see
//! docs/performance.md.
//!
//! Only a hint: contents, lengths and results are the same with or without
//! it, and elsewhere than Linux these functions are plain `Vec` growth.

/// The size of a huge page on x86_64 and aarch64 (4 KiB base pages), and
/// the size from which a buffer is advised.
pub const HUGE: usize = 2 << 20;

/// Asks the system to back the 2 MiB-aligned stretches of `v`'s whole
/// buffer (its capacity, not only its length) with huge pages. Pages
/// touched before the advice stay small; hence `reserve` and `zeroed`
/// advise a new buffer before writing into it.
pub fn advise<T>(v: &Vec<T>) {
    advise_range(v.as_ptr().cast(), v.capacity() * size_of::<T>());
}

#[cfg(target_os = "linux")]
fn advise_range(start: *const u8, bytes: usize) {
    if bytes < HUGE {
        return;
    }
    let page = 4096;
    let from = (start as usize).next_multiple_of(page);
    let to = (start as usize + bytes) & !(page - 1);
    if to <= from {
        return;
    }
    // SAFETY: madvise only sets a paging policy on whole pages of this
    // process's own mapping, which `[from, to)` lies inside (the buffer's
    // pages); MADV_HUGEPAGE never changes their contents. Its result is
    // ignored on purpose: a system without transparent huge pages refuses,
    // and the buffer is then an ordinary one.
    unsafe {
        libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_range(_start: *const u8, _bytes: usize) {}

/// The capacity `v` grows to so that `needed` elements fit: at least
/// double, as `Vec` grows.
fn grown(capacity: usize, needed: usize) -> usize {
    needed.max(2 * capacity).max(4)
}

/// Makes room for `additional` more elements, like `Vec::reserve`; when
/// the new buffer is large, it is advised before the old elements are
/// copied in.
#[inline]
pub fn reserve<T: Copy>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        regrow(v, additional);
    }
}

#[cold]
#[inline(never)]
fn regrow<T: Copy>(v: &mut Vec<T>, additional: usize) {
    let capacity = grown(v.capacity(), v.len() + additional);
    if capacity * size_of::<T>() < HUGE {
        v.reserve_exact(capacity - v.len());
        return;
    }
    let mut new = with_capacity(capacity);
    new.extend_from_slice(v);
    *v = new;
}

/// An empty vector with room for `n` elements, advised when large.
pub fn with_capacity<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    advise(&v);
    v
}

/// `n` zeros (`T::default()` of an integer type), advised when large. A
/// large zeroed buffer comes straight from the system, whose pages are
/// mapped when first touched, so the advice still applies to all of them.
pub fn zeroed<T: Copy + Default>(n: usize) -> Vec<T> {
    let v = vec![T::default(); n];
    advise(&v);
    v
}

/// The ceiling older glibc versions set on `M_MMAP_THRESHOLD` on 64-bit
/// systems (half their 64 MiB heap size); newer ones (2.36 here) take any
/// value.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const OLD_CEILING: libc::c_int = 32 << 20;

/// Keeps the memory a run frees for the next run of the same process.
///
/// By default glibc's allocator gives a large block (from 128 KiB) back to
/// the system when it is freed, and trims its heap once the free part at
/// its top exceeds 128 KiB. The next run then asks for fresh pages, and
/// every fresh page costs a fault and a zeroing when first touched (in a
/// virtual machine, often more: measured here at 5–30 µs a page). After
/// this call, blocks of any size (up to 32 MiB with older glibc
/// versions, which cap the threshold) come from the heap and the heap is
/// never trimmed, so the runs of a sweep (and the rounds of the speed suite)
/// reuse pages already touched. The process's peak memory is unchanged
/// (a run's peak is what it is); what it holds between runs is its
/// largest run's. Measured on this machine, a sweep of 16 runs of the
/// default scenario on one thread: 11.7 s before, 10.8 s after (median
/// of 5 rounds), peak RSS 34.7 → 31.9 MB (see docs/performance.md).
///
/// Called once at the start by the command line and the benchmarks. Only
/// a hint: results are the same with or without it. Returns whether the
/// allocator took both settings (never elsewhere than Linux with glibc,
/// where this does nothing).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes two of the allocator's thresholds,
        // under its own lock; a refused value leaves the default.
        unsafe {
            let heap_served = libc::mallopt(libc::M_MMAP_THRESHOLD, libc::c_int::MAX) == 1
                || libc::mallopt(libc::M_MMAP_THRESHOLD, OLD_CEILING) == 1;
            heap_served && libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Growth keeps every element and its order, across the size from
    /// which buffers are advised.
    #[test]
    fn growth_keeps_contents() {
        let n = 3 * HUGE / size_of::<u32>();
        let mut v: Vec<u32> = Vec::new();
        for i in 0..n as u32 {
            reserve(&mut v, 1);
            v.push(i);
        }
        assert!(v.capacity() * 4 >= HUGE);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
    }

    #[test]
    fn zeroed_is_zeros() {
        let v: Vec<u64> = zeroed(HUGE / 8 + 3);
        assert_eq!(v.len(), HUGE / 8 + 3);
        assert!(v.iter().all(|&x| x == 0));
        assert!(zeroed::<u32>(0).is_empty());
    }

    /// On Linux with transparent huge pages (any mode but `never`), the
    /// middle of an advised buffer lies in a mapping marked for them (`hg`
    /// among its VmFlags). Whether the kernel then finds free huge pages
    /// depends on the machine, so the test reads the mark, not the pages.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_advised_buffer_is_marked_for_huge_pages() {
        let Ok(mode) = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        else {
            eprintln!("no transparent huge pages in this kernel: nothing to check");
            return;
        };
        let flags_of = |at: usize| {
            let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
            let mut inside = false;
            for line in smaps.lines() {
                if let Some((range, _)) = line.split_once(' ')
                    && let Some((a, b)) = range.split_once('-')
                    && let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                {
                    inside = (a..b).contains(&at);
                } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                    return flags
                        .split_whitespace()
                        .map(str::to_string)
                        .collect::<Vec<_>>();
                }
            }
            panic!("no mapping holds {at:#x}")
        };
        let mut v: Vec<u64> = Vec::new();
        reserve(&mut v, 4 * HUGE / 8);
        v.resize(4 * HUGE / 8, 7);
        // The buffer's first page (with the allocator's header) is left
        // out of the advice: look at its middle.
        let flags = flags_of(v.as_ptr() as usize + 2 * HUGE);
        assert!(
            flags.iter().any(|f| f == "hg"),
            "THP mode {mode:?}: flags {flags:?}"
        );
        assert_eq!(v[4 * HUGE / 8 - 1], 7);
    }

    /// glibc takes both thresholds, and an 8 MiB block then comes from
    /// the heap, where with the threshold at 128 KiB it came from a
    /// mapping of its own. Which one served it is glibc's mark in the
    /// block's header (the word before it: bit 1, `IS_MMAPPED`).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_memory_is_kept() {
        let mapped = |v: &Vec<u8>| {
            // SAFETY: the word before a block glibc's malloc returned is
            // the block's size field, part of the same allocation.
            let size_field = unsafe { *v.as_ptr().cast::<usize>().sub(1) };
            size_field & 2 != 0
        };
        // SAFETY: as in keep_freed_memory.
        unsafe {
            assert_eq!(libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10), 1);
        }
        // `black_box`: an optimised build may drop a block nothing writes
        // (`cargo test --release` failed here: no block, no header).
        let before: Vec<u8> = std::hint::black_box(Vec::with_capacity(8 << 20));
        assert!(mapped(&before));
        drop(before);
        assert!(keep_freed_memory());
        let after: Vec<u8> = std::hint::black_box(Vec::with_capacity(8 << 20));
        assert!(!mapped(&after));
    }

    #[test]
    fn growth_doubles() {
        assert_eq!(grown(0, 1), 4);
        assert_eq!(grown(100, 101), 200);
        assert_eq!(grown(100, 1000), 1000);
    }
}
