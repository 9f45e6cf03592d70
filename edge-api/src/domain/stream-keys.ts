export interface StreamKeyRecord {
  streamKey: string;
  sellerId: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface StreamKeyStore {
  /** The seller's key that is not revoked, if any. */
  activeFor(sellerId: string): Promise<StreamKeyRecord | null>;
  find(streamKey: string): Promise<StreamKeyRecord | null>;
  /** Revokes the seller's active key (if any) and stores `next` as the new one, atomically. */
  replace(sellerId: string, next: StreamKeyRecord | null, now: number): Promise<void>;
}
