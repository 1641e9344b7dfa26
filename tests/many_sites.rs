//! Thousands of sites: each is one `static` of fixed size (its histogram lives in it), so memory
//! is bounded by the code, not by the calls. 1,024 sites called 200 times each: all counted, and a
//! second round of calls allocates nothing that stays.
macro_rules! sites {
    ($($name:ident)*) => {
        $(
            #[monitor_query("many")]
            fn $name(i: u64) -> u64 { i + 1 }
        )*
        const ALL: &[fn(u64) -> u64] = &[$($name),*];
    };
}

macro_rules! sixteen {
    ($m:ident) => {
        paste_like!($m a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af);
    };
}

// 1,024 functions named s_XY_Z without a proc-macro helper: 64 groups of 16.
macro_rules! paste_like {
    ($m:ident $($x:ident)*) => {
        mod $m {
            pub mod inner {
                use monitor::monitor_query;
                sites!($($x)*);
                pub fn all() -> &'static [fn(u64) -> u64] { ALL }
            }
        }
    };
}

macro_rules! groups {
    ($($g:ident)*) => {
        $( sixteen!($g); )*
        fn all_sites() -> Vec<fn(u64) -> u64> {
            let mut v = Vec::new();
            $( v.extend_from_slice($g::inner::all()); )*
            v
        }
    };
}

groups!(
    g00 g01 g02 g03 g04 g05 g06 g07 g08 g09 g10 g11 g12 g13 g14 g15
    g16 g17 g18 g19 g20 g21 g22 g23 g24 g25 g26 g27 g28 g29 g30 g31
    g32 g33 g34 g35 g36 g37 g38 g39 g40 g41 g42 g43 g44 g45 g46 g47
    g48 g49 g50 g51 g52 g53 g54 g55 g56 g57 g58 g59 g60 g61 g62 g63
);

#[test]
fn a_thousand_sites_are_counted_and_bounded() {
    let sites = all_sites();
    assert_eq!(sites.len(), 1024);
    for f in &sites {
        for i in 0..100 {
            std::hint::black_box(f(i));
        }
    }
    let before = monitor::rss::current_rss().expect("rss");
    for f in &sites {
        for i in 0..100 {
            std::hint::black_box(f(i));
        }
    }
    let after = monitor::rss::current_rss().expect("rss");
    let snap = monitor::snapshot();
    let many: Vec<_> = snap.sites.iter().filter(|s| s.name == "many").collect();
    assert_eq!(many.len(), 1024);
    assert!(many.iter().all(|s| s.calls == 200));
    assert!(
        after.saturating_sub(before) < 1 << 20,
        "second round grew RSS by {} bytes",
        after.saturating_sub(before)
    );
}
