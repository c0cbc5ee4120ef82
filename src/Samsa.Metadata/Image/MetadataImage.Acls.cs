using System.Collections.Immutable;
using Samsa.Protocol;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Image;

public sealed partial record MetadataImage
{
    /// <summary>
    /// Every ACL binding by its id (Kafka's <c>AclsImage</c>). The dictionary is replaced only when an ACL record is
    /// replayed, so a reader may key a derived index on its reference (the authorizer does).
    /// </summary>
    public ImmutableDictionary<Uuid, StandardAcl> Acls { get; init; } = ImmutableDictionary<Uuid, StandardAcl>.Empty;
}

public sealed partial class MetadataDelta
{
    private ImmutableDictionary<Uuid, StandardAcl>.Builder? _acls;

    private void ReplayAcl(AccessControlEntryRecord record)
    {
        _acls ??= Image.Acls.ToBuilder();
        _acls[record.Id] = StandardAcl.FromRecord(record);
    }

    /// <summary>As Kafka's <c>AclsDelta.replay</c>: removing an id that was never added means the log is corrupt.</summary>
    private void ReplayRemoveAcl(RemoveAccessControlEntryRecord record, long offset)
    {
        _acls ??= Image.Acls.ToBuilder();
        if (!_acls.Remove(record.Id))
        {
            throw new InvalidOperationException($"RemoveAccessControlEntryRecord at offset {offset}: no ACL with id {record.Id}");
        }
    }

    private ImmutableDictionary<Uuid, StandardAcl> ApplyAcls() => _acls?.ToImmutable() ?? Image.Acls;
}
