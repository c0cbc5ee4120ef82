using Samsa.Metadata.Image;

namespace Samsa.Metadata.Controller;

/// <summary>
/// Broker sessions as the active controller sees them (Kafka's <c>BrokerHeartbeatManager</c>): when each broker last
/// heartbeated and the metadata offset it reported. Like Kafka's, this lives only in the active controller's memory
/// and is never written to the log; a controller that becomes active starts every registered broker's session
/// afresh (<see cref="Activate"/>), so brokers get a whole session timeout to find the new controller.
/// </summary>
/// <remarks>
/// Used on the controller's event queue thread only. A registration made without a record (epoch -1: the combined
/// node's own) has no session to keep: that node is the controller itself and is never fenced for silence.
/// </remarks>
public sealed class BrokerHeartbeatManager(TimeProvider time, TimeSpan sessionTimeout)
{
    private readonly Dictionary<int, Session> _sessions = [];

    private sealed class Session(long lastContact, long metadataOffset)
    {
        public long LastContact { get; set; } = lastContact;

        public long MetadataOffset { get; set; } = metadataOffset;
    }

    public TimeSpan SessionTimeout => sessionTimeout;

    /// <summary>Forgets every session and starts one, from now, for every broker registered in <paramref name="image"/>.</summary>
    public void Activate(MetadataImage image)
    {
        _sessions.Clear();
        foreach (var broker in image.Brokers.Values.Where(b => b.Epoch >= 0))
        {
            Touch(broker.NodeId, -1);
        }
    }

    /// <summary>Records a heartbeat (or a registration) from <paramref name="brokerId"/> now.</summary>
    public void Touch(int brokerId, long metadataOffset)
    {
        if (_sessions.TryGetValue(brokerId, out var session))
        {
            session.LastContact = time.GetTimestamp();
            session.MetadataOffset = Math.Max(session.MetadataOffset, metadataOffset);
        }
        else
        {
            _sessions[brokerId] = new Session(time.GetTimestamp(), metadataOffset);
        }
    }

    public void Remove(int brokerId) => _sessions.Remove(brokerId);

    /// <summary>The metadata offset the broker last reported; -1 when it has not heartbeated to this controller.</summary>
    public long MetadataOffset(int brokerId) => _sessions.TryGetValue(brokerId, out var session) ? session.MetadataOffset : -1;

    /// <summary>
    /// True while <paramref name="broker"/> is unfenced and heard from within the session timeout (Kafka's
    /// <c>hasValidSession</c>): a fenced registration never holds its id against a new incarnation.
    /// </summary>
    public bool HasValidSession(BrokerRegistration broker) =>
        broker.Epoch < 0 ? !broker.Fenced
        : !broker.Fenced && _sessions.TryGetValue(broker.NodeId, out var session) && !Expired(session);

    /// <summary>
    /// One unfenced broker whose session has expired, the one heard from longest ago, or null (Kafka's
    /// <c>findOneStaleBroker</c>). A registered broker without a session (registered before this controller kept
    /// sessions) gets one now instead.
    /// </summary>
    public int? FindOneStaleBroker(MetadataImage image)
    {
        int? stalest = null;
        long stalestContact = long.MaxValue;
        foreach (var broker in image.Brokers.Values)
        {
            if (broker.Fenced || broker.Epoch < 0)
            {
                continue;
            }
            if (!_sessions.TryGetValue(broker.NodeId, out var session))
            {
                Touch(broker.NodeId, -1);
                continue;
            }
            if (Expired(session) && session.LastContact < stalestContact)
            {
                stalest = broker.NodeId;
                stalestContact = session.LastContact;
            }
        }
        return stalest;
    }

    private bool Expired(Session session) => time.GetElapsedTime(session.LastContact) > sessionTimeout;
}
