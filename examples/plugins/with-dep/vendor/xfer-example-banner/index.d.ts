export declare function banner(text: string): string;
