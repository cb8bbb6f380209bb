// EIP-712 typed data from the API (every uint256 a decimal string, so nothing loses precision in
// JSON) into what viem signs: integers as bigint, the domain type left to viem.
interface Field {
  name: string;
  type: string;
}

export interface ApiTypedData {
  types: Record<string, Field[]>;
  primaryType: string;
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
}

const INTEGER = /^u?int(\d+)?$/;

function convert(value: unknown, type: string, types: Record<string, Field[]>): unknown {
  if (type.endsWith("]")) {
    const inner = type.slice(0, type.lastIndexOf("["));
    return (value as unknown[]).map((v) => convert(v, inner, types));
  }
  if (INTEGER.test(type)) return typeof value === "bigint" ? value : BigInt(value as string | number);
  const struct = types[type];
  if (struct) {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(struct.map((f) => [f.name, convert(obj[f.name], f.type, types)]));
  }
  return value;
}

export function toViemTypedData(data: ApiTypedData) {
  const { EIP712Domain: _domain, ...types } = data.types;
  const domain = { ...data.domain };
  if (domain.chainId !== undefined) domain.chainId = Number(domain.chainId);
  return {
    types,
    primaryType: data.primaryType,
    domain,
    message: convert(data.message, data.primaryType, types) as Record<string, unknown>,
  };
}
