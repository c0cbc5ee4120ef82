using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

/// <summary>
/// Broker registrations and liveness, decided by the active controller (Kafka's <c>ClusterControlManager</c> with
/// the heartbeat half of its <c>ReplicationControlManager</c>). Every decision reads an image and returns records;
/// only the sessions (<see cref="BrokerHeartbeatManager"/>) are kept in memory, on the controller thread.
/// </summary>
/// <remarks>
/// <para>A broker's life: BrokerRegistration writes a fenced RegisterBrokerRecord whose offset is the broker epoch.
/// Heartbeats carry that epoch; once one reports a metadata offset at or past the registration (the broker has
/// replayed its own registration) and does not ask to stay fenced, an UnfenceBrokerRecord lets it lead and host new
/// replicas, and partitions that lost every leader but it get it back. A broker that stops heartbeating for
/// <c>broker.session.timeout.ms</c> is fenced by the periodic check (FenceBrokerRecord), and leadership moves to
/// another in-sync replica. A broker shutting down asks with WantShutDown: while it leads partitions it enters
/// controlled shutdown (BrokerRegistrationChangeRecord) and its leaderships move; then it is fenced and told
/// ShouldShutDown.</para>
/// <para>Differences from Kafka: a registration repeated by the same incarnation with the same details answers the
/// current epoch without writing (Kafka writes a new record, and so a new epoch, each time); a registration made
/// without a record (the combined node's own, epoch -1) always counts as live. Kafka also waits, before letting a
/// broker in controlled shutdown go, until every active broker has replayed past the point it entered it; Samsa
/// lets it go once it leads nothing.</para>
/// </remarks>
public sealed class ClusterControlManager(ControllerOptions options)
{
    /// <summary>The sessions of this (active) controller.</summary>
    public BrokerHeartbeatManager Heartbeats { get; } = new(options.Time, options.BrokerSessionTimeout);

    /// <summary>This controller became active: every registered broker starts a fresh session.</summary>
    public void Activate(MetadataImage image) => Heartbeats.Activate(image);

    /// <summary>
    /// BrokerRegistration. <paramref name="brokerEpoch"/> is the offset the RegisterBrokerRecord will have, which
    /// becomes the broker's epoch.
    /// </summary>
    public ControllerResult<BrokerRegistrationResponse> RegisterBroker(MetadataImage image, BrokerRegistrationRequest request, long brokerEpoch)
    {
        if (request.ClusterId != image.ClusterId)
        {
            return RegistrationError(ErrorCode.InconsistentClusterId);
        }
        var brokerId = request.BrokerId;
        var record = RecordOf(request, brokerEpoch);
        if (FeatureError(image, record) is { } unsupported)
        {
            return RegistrationError(unsupported);
        }
        var records = new List<MetadataRecord>();
        if (image.Brokers.TryGetValue(brokerId, out var existing))
        {
            if (existing.IncarnationId != request.IncarnationId)
            {
                if (Heartbeats.HasValidSession(existing))
                {
                    // Another process holds this id and is alive: Kafka's "Another broker is registered with that broker id."
                    return RegistrationError(ErrorCode.DuplicateBrokerRegistration);
                }
                Heartbeats.Remove(brokerId);
            }
            else if (SameRegistration(existing, record))
            {
                // A retry of a registration whose answer was lost: it stands as it is.
                Heartbeats.Touch(brokerId, -1);
                return new ControllerResult<BrokerRegistrationResponse>([], new BrokerRegistrationResponse { BrokerEpoch = existing.Epoch });
            }
        }
        // The new registration is fenced; whatever the old one led moves now, after the record that fences it.
        records.Add(MetadataRecord.Of(record));
        if (existing is not null)
        {
            ReplicationControlManager.HandleBrokerFenced(image, brokerId, records, options);
        }
        Heartbeats.Touch(brokerId, -1);
        return new ControllerResult<BrokerRegistrationResponse>(records, new BrokerRegistrationResponse { BrokerEpoch = brokerEpoch });
    }

    private static RegisterBrokerRecord RecordOf(BrokerRegistrationRequest request, long brokerEpoch)
    {
        var record = new RegisterBrokerRecord
        {
            BrokerId = request.BrokerId,
            IncarnationId = request.IncarnationId,
            BrokerEpoch = brokerEpoch,
            EndPoints = [.. request.Listeners.Select(l => new RegisterBrokerRecord.BrokerEndpoint { Name = l.Name, Host = l.Host, Port = l.Port, SecurityProtocol = l.SecurityProtocol })],
            Features = [.. request.Features.Select(f => new RegisterBrokerRecord.BrokerFeature { Name = f.Name, MinSupportedVersion = f.MinSupportedVersion, MaxSupportedVersion = f.MaxSupportedVersion })],
            Rack = request.Rack,
            Fenced = true,
            LogDirs = [.. request.LogDirs],
        };
        if (request.FindFeatures(FeatureControlManager.MetadataVersionFeature) is null)
        {
            // As Kafka: a broker that names no metadata.version range supports only the oldest KRaft one.
            record.Features.Add(new RegisterBrokerRecord.BrokerFeature
            {
                Name = FeatureControlManager.MetadataVersionFeature,
                MinSupportedVersion = MetadataVersions.Minimum,
                MaxSupportedVersion = MetadataVersions.Minimum,
            });
        }
        return record;
    }

    /// <summary>A broker must support the finalized level of every feature it names (Kafka's <c>processRegistrationFeature</c>).</summary>
    private static ErrorCode? FeatureError(MetadataImage image, RegisterBrokerRecord record)
    {
        foreach (var feature in record.Features)
        {
            if (image.Features.TryGetValue(feature.Name, out var finalized)
                && (finalized < feature.MinSupportedVersion || finalized > feature.MaxSupportedVersion))
            {
                return ErrorCode.UnsupportedVersion;
            }
        }
        return null;
    }

    private static bool SameRegistration(BrokerRegistration existing, RegisterBrokerRecord record) =>
        existing.Rack == record.Rack
        && existing.Endpoints.Select(e => (e.ListenerName, e.Host, e.Port, e.SecurityProtocol))
            .SequenceEqual(record.EndPoints.Select(e => (e.Name, e.Host, (int)e.Port, e.SecurityProtocol)))
        && existing.SupportedFeatures.SequenceEqual(record.Features.Select(f => new BrokerFeatureRange(f.Name, f.MinSupportedVersion, f.MaxSupportedVersion)))
        && existing.LogDirs.SequenceEqual(record.LogDirs);

    private static ControllerResult<BrokerRegistrationResponse> RegistrationError(ErrorCode error) =>
        new([], new BrokerRegistrationResponse { ErrorCode = (short)error });

    /// <summary>Where a broker stands, as Kafka's <c>BrokerControlState</c>.</summary>
    private enum BrokerState
    {
        Fenced,
        Unfenced,
        ControlledShutdown,
        ShutdownNow,
    }

    /// <summary>
    /// BrokerHeartbeat: checks the epoch, renews the session, and moves the broker between fenced, unfenced and
    /// controlled shutdown as its request asks and its progress allows (Kafka's <c>calculateNextBrokerState</c>).
    /// A heartbeat that changes nothing writes nothing.
    /// </summary>
    public ControllerResult<BrokerHeartbeatResponse> ProcessBrokerHeartbeat(MetadataImage image, BrokerHeartbeatRequest request)
    {
        var brokerId = request.BrokerId;
        if (!image.Brokers.TryGetValue(brokerId, out var broker))
        {
            return HeartbeatError(ErrorCode.BrokerIdNotRegistered);
        }
        if (broker.Epoch != request.BrokerEpoch)
        {
            return HeartbeatError(ErrorCode.StaleBrokerEpoch);
        }
        var current = broker.Fenced ? BrokerState.Fenced : broker.InControlledShutdown ? BrokerState.ControlledShutdown : BrokerState.Unfenced;
        var caughtUp = request.CurrentMetadataOffset >= broker.Epoch;
        var next = NextState(image, current, request, brokerId, caughtUp);
        var records = new List<MetadataRecord>();
        if (next != current)
        {
            switch (next)
            {
                case BrokerState.Unfenced:
                    records.Add(MetadataRecord.Of(new UnfenceBrokerRecord { Id = brokerId, Epoch = broker.Epoch }));
                    ReplicationControlManager.HandleBrokerUnfenced(image, brokerId, records, options);
                    break;
                case BrokerState.ControlledShutdown:
                    records.Add(MetadataRecord.Of(new BrokerRegistrationChangeRecord { BrokerId = brokerId, BrokerEpoch = broker.Epoch, InControlledShutdown = 1 }));
                    ReplicationControlManager.HandleBrokerFenced(image, brokerId, records, options);
                    break;
                case BrokerState.Fenced or BrokerState.ShutdownNow when !broker.Fenced:
                    FenceBroker(image, broker, records, options);
                    break;
            }
        }
        Heartbeats.Touch(brokerId, request.CurrentMetadataOffset);
        return new ControllerResult<BrokerHeartbeatResponse>(records, new BrokerHeartbeatResponse
        {
            IsCaughtUp = caughtUp,
            IsFenced = next is BrokerState.Fenced or BrokerState.ShutdownNow,
            ShouldShutDown = next == BrokerState.ShutdownNow,
        });
    }

    private static BrokerState NextState(MetadataImage image, BrokerState current, BrokerHeartbeatRequest request, int brokerId, bool caughtUp) => current switch
    {
        BrokerState.Fenced when request.WantShutDown => BrokerState.ShutdownNow,
        BrokerState.Fenced => !request.WantFence && caughtUp ? BrokerState.Unfenced : BrokerState.Fenced,
        BrokerState.Unfenced when request.WantFence => request.WantShutDown ? BrokerState.ShutdownNow : BrokerState.Fenced,
        BrokerState.Unfenced when request.WantShutDown =>
            ReplicationControlManager.HasLeaderships(image, brokerId) ? BrokerState.ControlledShutdown : BrokerState.ShutdownNow,
        BrokerState.Unfenced => BrokerState.Unfenced,
        _ => ReplicationControlManager.HasLeaderships(image, brokerId) ? BrokerState.ControlledShutdown : BrokerState.ShutdownNow,
    };

    private static ControllerResult<BrokerHeartbeatResponse> HeartbeatError(ErrorCode error) =>
        new([], new BrokerHeartbeatResponse { ErrorCode = (short)error, IsFenced = true });

    /// <summary>
    /// The periodic check: fences the unfenced broker whose session expired longest ago, if any, and moves its
    /// leaderships (Kafka's <c>maybeFenceOneStaleBroker</c>). One at a time, so each fencing is in the image before
    /// the next broker's partitions are looked at. The response is the fenced broker's id, or null.
    /// </summary>
    public ControllerResult<int?> FenceOneStaleBroker(MetadataImage image)
    {
        if (Heartbeats.FindOneStaleBroker(image) is not { } brokerId)
        {
            return new ControllerResult<int?>([], null);
        }
        var records = new List<MetadataRecord>();
        FenceBroker(image, image.Brokers[brokerId], records, options);
        return new ControllerResult<int?>(records, brokerId);
    }

    /// <summary>Kafka's <c>handleBrokerFenced</c>: the FenceBrokerRecord, then the partitions it can no longer lead or stay in sync for.</summary>
    private static void FenceBroker(MetadataImage image, BrokerRegistration broker, List<MetadataRecord> records, ControllerOptions options)
    {
        records.Add(MetadataRecord.Of(new FenceBrokerRecord { Id = broker.NodeId, Epoch = broker.Epoch }));
        ReplicationControlManager.HandleBrokerFenced(image, broker.NodeId, records, options);
    }
}
