import ClusterState
import Foundation
import KubeModel
import Logging
import NIOConcurrencyHelpers
import Rules

/// The continuous audit of `serve`: judges every object of the live view once it has synced,
/// then only what changed and what references it (`ReferrerClosure`), and everything again every
/// `interval` for the time-dependent rules (`secret/expiry`). It runs in its own task, judges in
/// small batches and yields between them, and never touches the admission path.
public final class LiveAudit: Sendable {
    public struct Configuration: Sendable {
        /// Time between full passes (certificate expiry moves with the clock, not with events).
        public var interval: Duration = .seconds(3600)
        /// How often the change journal is looked at; changes within it are judged together.
        public var pollInterval: Duration = .milliseconds(200)
        /// Objects judged between two yields (about 5 ms of work on one core).
        public var batchSize = 16
        /// GETs per pass that confirm a referenced Secret or Policy the view lacks (a Secret of an
        /// unwatched type such as Opaque, which makes a Policy fail instead of warn).
        public var readThroughLimit = 32
        /// Objects that lacked a referenced Secret or Policy in an incremental pass are judged once
        /// more after this delay: Secret type is immutable, so "replace it with another type" is a
        /// delete and a create, and a Secret of an unwatched type arrives through no watch event.
        public var missingReferenceRecheck: Duration = .seconds(2)
        public init() {}
    }

    /// One pass, for logs, metrics and benchmarks.
    public struct Pass: Sendable {
        public var full: Bool
        /// Objects judged in this pass.
        public var judged: Int
        /// Objects changed (by events) that started an incremental pass.
        public var changed: Int
        public var duration: Duration
        public var passes: Int
    }

    private struct State {
        var results = AuditResults()
        var expiryCache: [ObjectKey: (version: String?, notAfter: Date?)] = [:]
        var passes = 0
    }

    let watcher: ClusterWatcher
    let settings: @Sendable () -> Settings
    let configuration: Configuration
    let publisher: PolicyReportPublisher?
    let logger: Logger
    /// Called after every pass with the current results and certificate expiries (metrics).
    let onPass: @Sendable (AuditResults, [ObjectKey: Date], Pass) -> Void
    private let state = NIOLockedValueBox(State())

    public init(watcher: ClusterWatcher, configuration: Configuration = Configuration(), publisher: PolicyReportPublisher?,
                logger: Logger, settings: @escaping @Sendable () -> Settings,
                onPass: @escaping @Sendable (AuditResults, [ObjectKey: Date], Pass) -> Void = { _, _, _ in }) {
        self.watcher = watcher
        self.configuration = configuration
        self.publisher = publisher
        self.logger = logger
        self.settings = settings
        self.onPass = onPass
    }

    public var results: AuditResults { state.withLockedValue { $0.results } }

    /// Runs until cancelled.
    public func run() async {
        let journal = watcher.store.journal
        journal.enable()
        guard await watcher.firstSnapshot(polling: configuration.pollInterval) != nil else { return }
        _ = journal.take()
        await fullPass()
        var nextFull = ContinuousClock.now + configuration.interval
        var recheck: (due: ContinuousClock.Instant, subjects: Set<AuditSubject>)?
        while !Task.isCancelled {
            guard (try? await Task.sleep(for: configuration.pollInterval)) != nil else { return }
            if ContinuousClock.now >= nextFull {
                _ = journal.take()
                recheck = nil
                await fullPass()
                nextFull = ContinuousClock.now + configuration.interval
                continue
            }
            let changes = journal.take()
            var subjects = Set(changes.entries.compactMap { Self.subject(of: $0) })
            let changed = subjects.count
            if let due = recheck, ContinuousClock.now >= due.due {
                subjects.formUnion(due.subjects)
                recheck = nil
            }
            if changes.overflowed {
                await fullPass()
            } else if !subjects.isEmpty {
                let lacking = await incrementalPass(subjects, changed: changed)
                if !lacking.isEmpty, changed > 0 {
                    // Only after a pass caused by events: a recheck never schedules another.
                    let due = ContinuousClock.now + configuration.missingReferenceRecheck
                    recheck = (due, lacking.union(recheck?.subjects ?? []))
                }
            }
        }
    }

    // MARK: Passes

    func fullPass() async {
        guard let snapshot = watcher.snapshot else { return }
        let started = ContinuousClock.now
        let results = await Self.judgeAll(snapshot, watcher: watcher, settings: settings(), configuration: configuration)
        let judged = results.objects.count
        let before = state.withLockedValue { $0.results }
        // Only namespaces where a verdict changed get their report rebuilt: encoding thousands of
        // unchanged results every pass costs more than judging them (stale reports are the
        // publisher's own concern).
        var namespaces = Set<String>()
        for (subject, verdict) in results.objects where before[subject] != verdict { namespaces.insert(subject.key.namespace) }
        for subject in before.objects.keys where results[subject] == nil { namespaces.insert(subject.key.namespace) }
        await finish(results, pass: Pass(full: true, judged: judged, changed: 0, duration: ContinuousClock.now - started, passes: 0),
                     snapshot: snapshot, namespaces: namespaces)
    }

    /// Judges `changed` and its referrers; returns the objects that lacked a reference.
    func incrementalPass(_ changed: Set<AuditSubject>, changed count: Int) async -> Set<AuditSubject> {
        guard let snapshot = watcher.snapshot else { return [] }
        let started = ContinuousClock.now
        let affected = ReferrerClosure.affected(by: changed, in: snapshot)
        var results = state.withLockedValue { $0.results }
        let (judged, lacking) = await Self.judge(Array(affected), in: snapshot, into: &results, judge: AuditJudge(settings: settings()),
                                                 watcher: watcher, configuration: configuration)
        await finish(results, pass: Pass(full: false, judged: judged, changed: count, duration: ContinuousClock.now - started, passes: 0),
                     snapshot: snapshot, namespaces: Set(affected.map(\.key.namespace)))
        return lacking
    }

    private func finish(_ results: AuditResults, pass: Pass, snapshot: LiveSnapshot, namespaces: Set<String>) async {
        let (expiry, record) = state.withLockedValue { state -> ([ObjectKey: Date], Pass) in
            state.results = results
            state.passes += 1
            var record = pass
            record.passes = state.passes
            // Expiry of the Secrets that are part of an mTLS set-up, parsed again only when they change.
            var expiry: [ObjectKey: Date] = [:]
            var cache: [ObjectKey: (version: String?, notAfter: Date?)] = [:]
            for key in results.mTLSSecrets.keys {
                guard let stored = snapshot.stored(.caSecrets, key) ?? snapshot.stored(.tlsSecrets, key) else { continue }
                let notAfter: Date?
                if let known = state.expiryCache[key], known.version == stored.resourceVersion, stored.resourceVersion != nil {
                    notAfter = known.notAfter
                } else {
                    notAfter = CertificateExpiry.earliestNotAfter(stored.object)
                }
                cache[key] = (stored.resourceVersion, notAfter)
                if let notAfter { expiry[key] = notAfter }
            }
            state.expiryCache = cache
            return (expiry, record)
        }
        onPass(results, expiry, record)
        logger.info("audit pass", metadata: [
            "full": .string(record.full ? "true" : "false"),
            "judged": .stringConvertible(record.judged),
            "changed": .stringConvertible(record.changed),
            "seconds": .stringConvertible(record.duration.inSeconds),
            "findings": .stringConvertible(results.violations.values.reduce(0, +)),
            "namespacesWithFindings": .stringConvertible(results.namespaces.count),
        ])
        await publisher?.publish(namespaces, results: results)
    }

    // MARK: Judging

    /// Every object of `snapshot` judged once (`mtls-guard audit`); `watcher` confirms missing references.
    public static func judgeAll(_ snapshot: LiveSnapshot, watcher: ClusterWatcher?, settings: Settings,
                                configuration: Configuration = Configuration()) async -> AuditResults {
        var subjects: [AuditSubject] = []
        for source in WatchSource.allCases where source != .namespaces {
            for stored in snapshot.all(source) { subjects.append(AuditSubject(stored.object)) }
        }
        var results = AuditResults()
        _ = await judge(subjects, in: snapshot, into: &results, judge: AuditJudge(settings: settings),
                        watcher: watcher, configuration: configuration)
        return results
    }

    /// Judges `subjects` (Secrets, then Policies, then their referrers) against `snapshot` into
    /// `results`, yielding every `batchSize` objects. Returns how many were judged, and those
    /// that reference a Secret or Policy the view lacks.
    static func judge(_ subjects: [AuditSubject], in snapshot: LiveSnapshot, into results: inout AuditResults,
                      judge: AuditJudge, watcher: ClusterWatcher?, configuration: Configuration) async -> (Int, Set<AuditSubject>) {
        var readThroughs = configuration.readThroughLimit
        var count = 0
        var lacking = Set<AuditSubject>()
        for subject in subjects.sorted() {
            if count > 0, count % configuration.batchSize == 0 { await Task.yield() }
            count += 1
            guard let stored = stored(subject, in: snapshot) else {
                results.set(subject, nil)
                continue
            }
            var view = snapshot
            if !subject.isSecret, lacksReference(stored.object, in: snapshot) {
                lacking.insert(subject)
                if let watcher, readThroughs > 0 {
                    readThroughs -= 1
                    view = await watcher.resolvingMissingReferences(of: stored.object, in: snapshot)
                }
            }
            // Looked up first: a closure over `results` would copy all of it on the next change.
            var policyResults: [ObjectKey: AuditedObject] = [:]
            if !subject.isSecret, !subject.isPolicy {
                for key in ReferenceIndex.policies(of: stored.object) { policyResults[key] = results[AuditSubject.policy(key)] }
            }
            let verdict = judge.judge(stored.object, ingestedContentFailures: stored.contentFailures, snapshot: view) {
                policyResults[$0]
            }
            results.set(subject, verdict)
        }
        return (count, lacking)
    }

    static func lacksReference(_ object: KubeObject, in snapshot: LiveSnapshot) -> Bool {
        !ClusterWatcher.missingReferences(of: object, in: snapshot).isEmpty
    }

    static func stored(_ subject: AuditSubject, in snapshot: LiveSnapshot) -> StoredObject? {
        if subject.isSecret { return snapshot.stored(.caSecrets, subject.key) ?? snapshot.stored(.tlsSecrets, subject.key) }
        for source in WatchSource.allCases where source.group == subject.group && source.kind == subject.kind {
            return snapshot.stored(source, subject.key)
        }
        return nil
    }

    static func subject(of entry: ChangeJournal.Entry) -> AuditSubject? {
        guard entry.source != .namespaces else { return nil }  // labels only: never judged
        let kind = entry.source.kind
        return AuditSubject(group: entry.source.group, kind: kind, key: entry.key)
    }
}

