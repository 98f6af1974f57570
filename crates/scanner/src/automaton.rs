//! An Aho-Corasick automaton over characters, not bytes.
//!
//! A byte automaton walks three transitions for each Chinese character, and the leading bytes of
//! UTF-8 Chinese are the same few values, so the states near its root are dense and no
//! prefilter can skip ahead. This one takes one transition per character: a character that
//! begins no wording is a table look-up that sends it to the root, the root's transitions are a
//! dense array, and every other transition is one read of a double array (the transition of
//! state `s` on symbol `c` sits at `s.base + c` and names its owner), no probing. It is fed
//! the folded characters one at a time by the scanner, so the folded text is never built.
//!
//! Matching is leftmost-longest, resolved online: the automaton reports every wording that ends
//! at each character (the longest first), and [`Leftmost`] holds them until no later match
//! could start at or before the best of them.

use std::collections::HashMap;

/// The root state.
const ROOT: u32 = 0;
/// No state (the end of an output chain).
const NONE: u32 = u32::MAX;
/// The owner of a free slot of the double array.
const FREE: u32 = u32::MAX;

/// One slot of the double array: whose transition it holds, and where it leads.
#[derive(Debug, Clone, Copy)]
struct Slot {
    owner: u32,
    next: u32,
}

/// One state of the automaton.
#[derive(Debug, Clone, Copy)]
struct State {
    /// Where to go on a character the state has no transition for.
    fail: u32,
    /// How many characters the state has read since the root.
    depth: u32,
    /// The wording that ends here, plus one (0: none).
    output: u32,
    /// The next state on the failure chain with an output (NONE: none).
    dict: u32,
    /// Where its transitions start in the double array, less its lowest symbol (wrapping: the
    /// transition on symbol `c` is in slot `base + c`).
    base: u32,
}

/// The automaton of a set of wordings, each a sequence of folded characters.
#[derive(Debug)]
pub(crate) struct Automaton {
    /// The symbol of each character of the Basic Multilingual Plane (0: in no wording).
    bmp: Vec<u32>,
    /// The symbols of the other characters.
    astral: HashMap<char, u32>,
    /// The root's transitions, by symbol.
    root: Vec<u32>,
    /// Every other transition, as a double array: state `s`'s transition on symbol `c` is in
    /// slot `s.base + c` when that slot's owner is `s` (one read, no probing).
    slots: Vec<Slot>,
    /// What each state knows, together so that one read of memory brings it all.
    states: Vec<State>,
    /// The most characters any wording has.
    longest: usize,
}

impl Automaton {
    /// The automaton of `wordings` (non-empty, distinct); wording `i` is reported as `i`.
    pub(crate) fn new(wordings: &[Vec<char>]) -> Automaton {
        let mut bmp = vec![0u32; 0x1_0000];
        let mut astral = HashMap::new();
        let mut symbols = 0u32;
        let mut symbol_of = |c: char, bmp: &mut Vec<u32>, astral: &mut HashMap<char, u32>| {
            let slot = match u32::from(c) {
                code @ 0..=0xffff => &mut bmp[code as usize],
                _ => astral.entry(c).or_insert(0),
            };
            if *slot == 0 {
                symbols += 1;
                *slot = symbols;
            }
            *slot
        };
        // The trie.
        let mut children: HashMap<u64, u32> = HashMap::new();
        let mut root_children: Vec<(u32, u32)> = Vec::new();
        let mut depth = vec![0u32];
        let mut output = vec![0u32];
        let mut longest = 0;
        for (index, wording) in wordings.iter().enumerate() {
            longest = longest.max(wording.len());
            let mut state = ROOT;
            for &c in wording {
                let symbol = symbol_of(c, &mut bmp, &mut astral);
                let key = (u64::from(state) << 32) | u64::from(symbol);
                state = match children.get(&key) {
                    Some(&next) => next,
                    None => {
                        let next = depth.len() as u32;
                        depth.push(depth[state as usize] + 1);
                        output.push(0);
                        children.insert(key, next);
                        if state == ROOT {
                            root_children.push((symbol, next));
                        }
                        next
                    }
                };
            }
            output[state as usize] = index as u32 + 1;
        }
        let states = depth.len();
        let mut root = vec![ROOT; symbols as usize + 1];
        for &(symbol, next) in &root_children {
            root[symbol as usize] = next;
        }
        // Children by state, for the breadth-first walk that sets the failure links.
        let mut by_state: Vec<Vec<(u32, u32)>> = vec![Vec::new(); states];
        for (&key, &next) in &children {
            by_state[(key >> 32) as usize].push((key as u32, next));
        }
        let goto = |state: u32, symbol: u32| -> Option<u32> {
            if state == ROOT {
                let next = root[symbol as usize];
                return (next != ROOT).then_some(next);
            }
            children
                .get(&((u64::from(state) << 32) | u64::from(symbol)))
                .copied()
        };
        let mut fail = vec![ROOT; states];
        let mut dict = vec![NONE; states];
        let mut queue = std::collections::VecDeque::new();
        for &(_, next) in &root_children {
            queue.push_back(next);
        }
        while let Some(state) = queue.pop_front() {
            for &(symbol, child) in &by_state[state as usize] {
                let mut link = fail[state as usize];
                let target = loop {
                    if let Some(next) = goto(link, symbol) {
                        break next;
                    }
                    if link == ROOT {
                        break ROOT;
                    }
                    link = fail[link as usize];
                };
                fail[child as usize] = target;
                dict[child as usize] = if output[target as usize] != 0 {
                    target
                } else {
                    dict[target as usize]
                };
                queue.push_back(child);
            }
        }
        // The double array: each state's transitions placed at the first base where all of
        // them find free slots. The states with the most transitions go first, while the array
        // is still empty (they are the hard ones to fit, and the ones near the root, walked
        // most); the many with one or two fill the gaps after.
        let mut order: Vec<u32> = (1..states as u32)
            .filter(|&state| !by_state[state as usize].is_empty())
            .collect();
        order.sort_by_key(|&state| std::cmp::Reverse(by_state[state as usize].len()));
        let mut slots: Vec<Slot> = Vec::new();
        let mut base = vec![0u32; states];
        let mut first_free = 0usize;
        for state in order {
            let list = &mut by_state[state as usize];
            list.sort_unstable();
            let lowest = list[0].0 as usize;
            while first_free < slots.len() && slots[first_free].owner != FREE {
                first_free += 1;
            }
            // The lowest transition goes to a free slot; the base may lie below zero (it is
            // kept wrapping), so a state with one transition takes the first free slot.
            let mut start = first_free;
            loop {
                let fits = list.iter().all(|&(symbol, _)| {
                    let slot = start + (symbol as usize - lowest);
                    slot >= slots.len() || slots[slot].owner == FREE
                });
                if fits {
                    break;
                }
                start += 1;
            }
            base[state as usize] = (start as u32).wrapping_sub(lowest as u32);
            for &(symbol, child) in list.iter() {
                let slot = start + (symbol as usize - lowest);
                if slot >= slots.len() {
                    slots.resize(
                        slot + 1,
                        Slot {
                            owner: FREE,
                            next: ROOT,
                        },
                    );
                }
                slots[slot] = Slot {
                    owner: state,
                    next: child,
                };
            }
        }
        let states = (0..states)
            .map(|state| State {
                fail: fail[state],
                depth: depth[state],
                output: output[state],
                dict: dict[state],
                base: base[state],
            })
            .collect();
        Automaton {
            bmp,
            astral,
            root,
            slots,
            states,
            longest,
        }
    }

    /// The bytes its tables take.
    pub(crate) fn memory_usage(&self) -> usize {
        self.bmp.len() * std::mem::size_of::<u32>()
            + self.astral.len() * (std::mem::size_of::<(char, u32)>() + 8)
            + self.root.len() * std::mem::size_of::<u32>()
            + self.slots.len() * std::mem::size_of::<Slot>()
            + self.states.len() * std::mem::size_of::<State>()
    }

    /// The most characters any wording has.
    pub(crate) fn longest(&self) -> usize {
        self.longest
    }

    fn symbol(&self, c: char) -> u32 {
        match u32::from(c) {
            code @ 0..=0xffff => self.bmp[code as usize],
            _ => self.astral.get(&c).copied().unwrap_or(0),
        }
    }

    fn child(&self, state: u32, symbol: u32) -> Option<u32> {
        if state == ROOT {
            let next = self.root[symbol as usize];
            return (next != ROOT).then_some(next);
        }
        let slot = self.states[state as usize].base.wrapping_add(symbol) as usize;
        match self.slots.get(slot) {
            Some(found) if found.owner == state => Some(found.next),
            _ => None,
        }
    }

    /// The state after reading `c` in `state`.
    #[inline]
    pub(crate) fn step(&self, mut state: u32, c: char) -> u32 {
        let symbol = self.symbol(c);
        if symbol == 0 {
            return ROOT;
        }
        loop {
            if let Some(next) = self.child(state, symbol) {
                return next;
            }
            if state == ROOT {
                return ROOT;
            }
            state = self.states[state as usize].fail;
        }
    }

    /// How many characters `state` has read: no match that is still open began earlier than
    /// that many characters back.
    #[inline]
    pub(crate) fn depth(&self, state: u32) -> usize {
        self.states[state as usize].depth as usize
    }

    /// The wordings that end in `state`, longest first, as (wording, characters).
    #[inline]
    pub(crate) fn ending(&self, state: u32) -> Ending<'_> {
        let info = self.states[state as usize];
        let first = if info.output != 0 { state } else { info.dict };
        Ending {
            automaton: self,
            at: first,
        }
    }
}

/// The wordings that end in one state, longest first.
pub(crate) struct Ending<'a> {
    automaton: &'a Automaton,
    at: u32,
}

impl Iterator for Ending<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.at == NONE || self.at == ROOT {
            return None;
        }
        let info = self.automaton.states[self.at as usize];
        self.at = info.dict;
        Some((info.output as usize - 1, info.depth as usize))
    }
}

/// A match in folded characters: `start..end` and the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match<T> {
    pub start: usize,
    pub end: usize,
    pub wording: usize,
    /// What the caller keeps of it (where it is in the original text).
    pub at: T,
}

/// Leftmost-longest selection among the matches of one pass: every match is offered as it ends
/// (in order of their ends); the leftmost-longest of those offered comes out once no later match
/// could start at or before it, and matches that overlap one that came out are dropped. The
/// others wait: one that ended while a longer, earlier match was still open comes out after it.
///
/// Of the matches that start at one character only the longest can ever come out, so one slot
/// per start is kept, in a ring as long as the longest wording: however many wordings end at a
/// character (a hostile text over nested wordings), selection costs a constant per match.
#[derive(Debug)]
pub(crate) struct Leftmost<T> {
    /// The longest match offered for each start still open, at `start & mask`.
    ring: Vec<Option<Match<T>>>,
    mask: usize,
    /// The first start not yet settled (and not inside a match that came out).
    next: usize,
}

impl<T: Copy> Leftmost<T> {
    /// A selection for wordings of at most `longest` characters.
    pub(crate) fn new(longest: usize) -> Self {
        let window = (longest + 1).next_power_of_two();
        Leftmost {
            ring: vec![None; window],
            mask: window - 1,
            next: 0,
        }
    }

    /// Whether a match starting at `start` could still be taken.
    #[inline]
    pub(crate) fn open_at(&self, start: usize) -> bool {
        start >= self.next
    }

    /// Offers a match that ends now.
    #[inline]
    pub(crate) fn offer(&mut self, found: Match<T>) {
        if found.start < self.next {
            return;
        }
        let slot = &mut self.ring[found.start & self.mask];
        match slot {
            Some(kept) if kept.start == found.start && kept.end >= found.end => {}
            _ => *slot = Some(found),
        }
    }

    /// Given that no match still to come starts before `earliest`: hands `emit` every match
    /// that is now final, in order. (A slot may still hold a match of an older start, one
    /// ring-length back, that lay inside a match that came out: it is passed over.)
    #[inline]
    pub(crate) fn settle(&mut self, earliest: usize, mut emit: impl FnMut(Match<T>)) {
        while self.next < earliest {
            match self.ring[self.next & self.mask].take() {
                Some(found) if found.start == self.next => {
                    // Every start inside it is passed over: they overlap it.
                    self.next = found.end;
                    emit(found);
                }
                _ => self.next += 1,
            }
        }
    }

    /// At the end of a text of `read` folded characters: hands `emit` what is left, in order.
    pub(crate) fn finish(&mut self, read: usize, emit: impl FnMut(Match<T>)) {
        self.settle(read, emit);
    }
}
