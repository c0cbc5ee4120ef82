using System.Collections.Immutable;
using Samsa.Metadata.Scram;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Image;

/// <summary>SCRAM credentials (Kafka's <c>ScramDelta</c>): user -> mechanism -> credential.</summary>
public sealed partial class MetadataDelta
{
    private ImmutableSortedDictionary<string, ImmutableSortedDictionary<ScramMechanism, ScramCredential>>.Builder? _scramCredentials;

    private void ReplayScram(UserScramCredentialRecord record)
    {
        _scramCredentials ??= Image.ScramCredentials.ToBuilder();
        var byMechanism = _scramCredentials.TryGetValue(record.Name, out var existing) ? existing : ImmutableSortedDictionary<ScramMechanism, ScramCredential>.Empty;
        _scramCredentials[record.Name] = byMechanism.SetItem(ScramMechanisms.FromType(record.Mechanism),
            new ScramCredential(record.Salt, record.StoredKey, record.ServerKey, record.Iterations));
    }

    private void ReplayScram(RemoveUserScramCredentialRecord record, long offset)
    {
        _scramCredentials ??= Image.ScramCredentials.ToBuilder();
        var mechanism = ScramMechanisms.FromType(record.Mechanism);
        // As Kafka's ScramControlManager.replay: removing a credential that is not there means the log is corrupt.
        if (!_scramCredentials.TryGetValue(record.Name, out var byMechanism) || !byMechanism.ContainsKey(mechanism))
        {
            throw new InvalidOperationException($"RemoveUserScramCredentialRecord at offset {offset}: no {mechanism.MechanismName()} credential of user {record.Name}");
        }
        byMechanism = byMechanism.Remove(mechanism);
        if (byMechanism.IsEmpty)
        {
            _scramCredentials.Remove(record.Name);
        }
        else
        {
            _scramCredentials[record.Name] = byMechanism;
        }
    }
}
