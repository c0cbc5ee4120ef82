namespace Samsa.Storage;

/// <summary>Marker for the storage room: partition logs, segments and indexes. See README's feature table.</summary>
public static class StorageAssembly;
